import type { APIRoute } from 'astro';
import { problemOf } from '../../../lib/api.ts';
import { describeProblem } from '../../../lib/forms.ts';
import { seeOther } from '../../../lib/http.ts';
import { downloadQuery } from '../../../lib/subtitles.ts';
import { accessToken } from '../../../lib/viewer.ts';
import { site } from '../../../lib/wiring.ts';

/**
 * GET /subtitles/{id}/download?format&shift(seconds)&toFps&fromFps&bom — the subtitles function's download
 * (`GET /subtitles/{id}/download`), relayed as a file: the viewer's token (if signed in) stays here.
 * A bad option or an API refusal → back to the subtitle's page with the reason.
 */
export const GET: APIRoute = async ({ params, url, locals }) => {
  const id = params.id ?? '';
  if (!/^[0-9a-f]{24}$/.test(id)) return new Response('Not found', { status: 404 });
  const { api, oidc } = site();
  const back = (text: string) => {
    locals.session.update((d) => {
      d.flash = { kind: 'error', text };
    });
    return seeOther(`/subtitles/${id}`);
  };
  const options = downloadQuery(url.searchParams);
  if (!options.ok) return back(options.message);
  const token = await accessToken(locals.session, oidc);
  const res = await api.send({ path: `/subtitles/${id}/download${options.query}`, token, accept: '*/*' });
  if (res.status !== 200) {
    const problem = problemOf(res);
    return back(
      res.status === 410
        ? 'This subtitle was removed or hidden by moderation.'
        : res.status === 400
          ? `The API refused these options: ${problem.message}`
          : describeProblem(problem).message,
    );
  }
  return new Response(new Uint8Array(res.body), {
    headers: {
      'content-type': String(res.headers['content-type'] ?? 'application/octet-stream'),
      'content-disposition': String(res.headers['content-disposition'] ?? 'attachment'),
      'cache-control': 'private, no-store',
    },
  });
};
