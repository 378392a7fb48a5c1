import type { APIRoute } from 'astro';
import { seeOther } from '../../lib/http.ts';
import { safeReturnTo } from '../../lib/return-to.ts';
import { site } from '../../lib/wiring.ts';

/** GET /auth/login?returnTo=/path — start the authorization code + PKCE flow. */
export const GET: APIRoute = async ({ url, locals }) => {
  const returnTo = safeReturnTo(url.searchParams.get('returnTo'));
  if (locals.session.data?.user) return seeOther(returnTo);
  const { url: authorize, pending } = await site().oidc.begin(returnTo);
  locals.session.update((d) => {
    d.pending = pending;
  });
  return seeOther(authorize.href);
};
