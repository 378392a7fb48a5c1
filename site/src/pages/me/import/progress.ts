import type { APIRoute } from 'astro';
import { importRequest, relayImport } from '../../../lib/mal-import.ts';
import { accessToken } from '../../../lib/viewer.ts';
import { site } from '../../../lib/wiring.ts';

/**
 * POST /me/import/progress — the import form sent by its client script (same origin, the session's CSRF
 * token in the form like every other post): the library's progress stream relayed as NDJSON. The token
 * stays on the server. Signed out → 401 `{failure}`; no file → 400 `{failure}`.
 */
export const POST: APIRoute = async ({ request, locals }) => {
  const { api, oidc } = site();
  const fail = (status: number, failure: string) =>
    new Response(`${JSON.stringify({ failure })}\n`, {
      status,
      headers: {
        'content-type': 'application/x-ndjson; charset=utf-8',
        'cache-control': 'private, no-store',
      },
    });
  const token = await accessToken(locals.session, oidc);
  if (!token) return fail(401, 'Your sign-in has expired. Please sign in again.');
  const file = (await request.formData()).get('file');
  if (!(file instanceof File) || file.size === 0)
    return fail(400, 'Choose your MAL export file (.xml or .xml.gz) first.');
  return relayImport(api, await importRequest(file, token));
};
