import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { IsekaiError } from '../errors.ts';
import { problemHeaders, toProblem } from '../problem.ts';
import { isReadable, type Reply } from './types.ts';

/**
 * Write a handler's reply: objects as JSON, strings/Buffers as-is (sent at once: returns undefined),
 * Readables piped (returns the pipe's promise: resolves when the body is sent, rejects when it fails).
 * `traceparent` joins the reply's headers (one `writeHead`) unless the reply names its own.
 */
export function sendReply(
  res: ServerResponse,
  reply: Reply,
  head: boolean,
  traceparent?: string,
): Promise<void> | undefined {
  const status = reply.status ?? (reply.body === undefined ? 204 : 200);
  const headers: Record<string, string> = { ...reply.headers };
  if (traceparent !== undefined) headers.traceparent ??= traceparent;
  const body = reply.body;
  if (isReadable(body)) {
    res.writeHead(status, headers);
    if (head) {
      body.destroy();
      res.end();
      return undefined;
    }
    return pipeline(body, res);
  }
  let payload: Buffer | string | undefined;
  if (body === undefined || status === 204 || status === 304) payload = undefined;
  else if (typeof body === 'string' || Buffer.isBuffer(body)) payload = body;
  else {
    payload = JSON.stringify(body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  res.writeHead(status, headers);
  res.end(head ? undefined : payload);
  return undefined;
}

/**
 * Answer with RFC 9457 problem+json (plus Retry-After / Allow / WWW-Authenticate where they apply, and
 * `traceparent` when given). Returns the status; once headers are sent it can only cut the connection.
 */
export function sendProblem(
  res: ServerResponse,
  error: IsekaiError,
  instance: string,
  traceparent?: string,
): number {
  const problem = toProblem(error, instance);
  if (res.headersSent) {
    res.destroy(error);
    return problem.status;
  }
  const payload = JSON.stringify(problem);
  res.writeHead(problem.status, {
    ...problemHeaders(error),
    'content-type': 'application/problem+json; charset=utf-8',
    'content-length': String(Buffer.byteLength(payload)),
    'cache-control': 'no-store',
    ...(traceparent === undefined ? {} : { traceparent }),
  });
  res.end(payload);
  return problem.status;
}
