import type { APIRoute } from 'astro';
import { problemOf, query } from '../../lib/api.ts';
import { describeProblem } from '../../lib/forms.ts';
import { seeOther } from '../../lib/http.ts';
import { accessToken, signInUrl } from '../../lib/viewer.ts';
import { site } from '../../lib/wiring.ts';

const FORMATS = new Set(['mal', 'json', 'csv']);

/** GET /me/export?format=mal|json|csv — the library's export, passed through as a download. */
export const GET: APIRoute = async ({ url, locals }) => {
  const { api, oidc } = site();
  const token = await accessToken(locals.session, oidc);
  if (!token) return seeOther(signInUrl('/me/import'));
  const format = url.searchParams.get('format') ?? 'mal';
  if (!FORMATS.has(format)) return seeOther('/me/import');
  const res = await api.send({ path: `/me/library/export${query({ format })}`, token, accept: '*/*' });
  if (res.status !== 200) {
    locals.session.update((d) => {
      d.flash = { kind: 'error', text: describeProblem(problemOf(res)).message };
    });
    return seeOther('/me/import');
  }
  return new Response(new Uint8Array(res.body), {
    headers: {
      'content-type': String(res.headers['content-type'] ?? 'application/octet-stream'),
      'content-disposition': String(
        res.headers['content-disposition'] ?? `attachment; filename="animelist.${format}"`,
      ),
      'cache-control': 'private, no-store',
    },
  });
};
