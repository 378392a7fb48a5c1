import type { APIRoute } from 'astro';
import { problemOf } from '../../../lib/api.ts';
import { describeProblem } from '../../../lib/forms.ts';
import { seeOther } from '../../../lib/http.ts';
import { accessToken, signInUrl } from '../../../lib/viewer.ts';
import { site } from '../../../lib/wiring.ts';

/**
 * GET /me/backups/{date}: one stored weekly backup (.xml.gz), passed through as a download. No backup of
 * that date (the library's 404, or an address that is no date: not shaped like one here, or no real day,
 * the library's 400) is the site's 404 page; any other refusal goes back to the import page's backups
 * with the reason.
 */
export const GET: APIRoute = async ({ params, locals, rewrite }) => {
  const { api, oidc } = site();
  const date = params.date ?? '';
  const token = await accessToken(locals.session, oidc);
  if (!token) return seeOther(signInUrl('/me/import'));
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return rewrite('/404');
  const res = await api.send({ path: `/me/backups/${date}`, token, accept: '*/*' });
  if (res.status === 404 || res.status === 400) return rewrite('/404');
  if (res.status !== 200) {
    locals.session.update((d) => {
      d.flash = { kind: 'error', text: describeProblem(problemOf(res)).message };
    });
    return seeOther('/me/import#backups');
  }
  return new Response(new Uint8Array(res.body), {
    headers: {
      'content-type': 'application/gzip',
      'content-disposition': String(
        res.headers['content-disposition'] ?? `attachment; filename="animelist_${date}.xml.gz"`,
      ),
      'cache-control': 'private, no-store',
    },
  });
};
