import type { APIRoute } from 'astro';
import { seeOther } from '../../lib/http.ts';
import { site } from '../../lib/wiring.ts';

/** POST /auth/logout (CSRF-checked form) — end the site session, then the identity provider's (RP-initiated logout). */
export const POST: APIRoute = async ({ locals }) => {
  const idToken = locals.session.data?.tokens?.idToken;
  const signedIn = locals.session.data?.user !== undefined;
  locals.session.destroy();
  if (!signedIn) return seeOther('/');
  try {
    return seeOther((await site().oidc.logoutUrl(idToken)).href);
  } catch {
    return seeOther('/');
  }
};
