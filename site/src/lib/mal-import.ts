/**
 * The MAL import as the site does it: the upload goes to the library's `POST /me/library/import` through
 * the edge with the viewer's token (server-side). Without JavaScript the page waits for the whole report;
 * with it, `/me/import/progress` relays the library's NDJSON progress stream line by line
 * (functions/library/transfer-routes.ts: `{file}`, `{progress:{done,total}}`…, then `{report}` or
 * `{problem}`), turning a problem into the same friendly message the page would show (`{failure}`).
 */
import { createInterface } from 'node:readline';
import type { Problem } from '../../../functions/lib/problem.ts';
import type { ImportReport } from '../../../functions/library/mal-import.ts';
import { type Api, ApiProblem, type ApiRequest, problemOf } from './api.ts';
import { describeProblem } from './forms.ts';

/** What the file was (encoding, gzip, row count) and the per-row report. */
export type ImportAnswer = ImportReport & { file: { encoding: string; gzipped: boolean; rows: number } };

/** One line of the relayed progress stream. */
export type ProgressLine =
  | { file: ImportAnswer['file'] }
  | { progress: { done: number; total: number } }
  | { report: ImportReport }
  | { failure: string; fileError?: string };

/** The API request importing `file` (gzip by its name, else XML). */
export async function importRequest(file: File, token: string, accept?: string): Promise<ApiRequest> {
  return {
    method: 'POST',
    path: '/me/library/import',
    token,
    body: Buffer.from(await file.arrayBuffer()),
    contentType: file.name.endsWith('.gz') ? 'application/gzip' : 'application/xml',
    // The library gives an import up to 120 s (a list of thousands); the edge allows 60 s between reads.
    timeoutMs: 125_000,
    ...(accept ? { accept } : {}),
  };
}

/** A refused import as the page says it: the message, and the reason next to the file field when the file was the problem. */
function failureLine(problem: unknown): ProgressLine {
  const { message, errors } = describeProblem(problem, { bodyField: 'file' });
  return errors.file ? { failure: message, fileError: errors.file } : { failure: message };
}

const ndjson = (line: ProgressLine) => new TextEncoder().encode(`${JSON.stringify(line)}\n`);

/**
 * The relayed stream: always 200 `application/x-ndjson` once the upload was read (a refused upload is
 * one `{failure}` line), unbuffered by nginx (`X-Accel-Buffering: no`), never cached.
 */
export async function relayImport(api: Api, request: ApiRequest): Promise<Response> {
  const upstream = await api.stream({ ...request, accept: 'application/x-ndjson' });
  const headers = {
    'content-type': 'application/x-ndjson; charset=utf-8',
    'cache-control': 'private, no-store',
    'x-accel-buffering': 'no',
  };
  const status = upstream.statusCode ?? 502;
  if (status < 200 || status >= 300) {
    const chunks: Buffer[] = [];
    for await (const c of upstream) chunks.push(c as Buffer);
    const problem = problemOf({ status, headers: upstream.headers, body: Buffer.concat(chunks) });
    return new Response(ndjson(failureLine(problem)), { headers });
  }
  const lines = createInterface({ input: upstream, crlfDelay: Number.POSITIVE_INFINITY });
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      try {
        for await (const raw of lines) {
          if (!raw.trim()) continue;
          const line = JSON.parse(raw) as ProgressLine | { problem: Partial<Problem> };
          if ('problem' in line) {
            controller.enqueue(ndjson(failureLine(new ApiProblem(line.problem.status ?? 400, line.problem))));
          } else controller.enqueue(ndjson(line));
        }
      } catch {
        controller.enqueue(
          ndjson({ failure: 'The import was interrupted. Nothing was changed; please try again.' }),
        );
      }
      controller.close();
    },
    cancel() {
      upstream.destroy();
    },
  });
  return new Response(body, { headers });
}
