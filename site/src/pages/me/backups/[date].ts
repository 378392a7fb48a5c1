import type { APIRoute } from 'astro';
import { problemOf } from '../../../lib/api.ts';
import { describeProblem } from '../../../lib/forms.ts';
import { seeOther } from '../../../lib/http.ts';
import { accessToken, signInUrl } from '../../../lib/viewer.ts';
import { site } from '../../../lib/wiring.ts';

/** GET /me/backups/{date}: one stored weekly backup (.xml.gz), passed through as a download. */
export const GET: APIRoute = async ({ params, locals }) => {
  const { api, oidc } = site();
  const token = await accessToken(locals.session, oidc);
  if (!token) return seeOther(signInUrl('/me/import'));
  const date = params.date ?? '';
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) return seeOther('/me/import#backups');
  const res = await api.send({ path: `/me/backups/${date}`, token, accept: '*/*' });
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
