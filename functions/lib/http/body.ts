import type { IncomingMessage } from 'node:http';
import { PayloadTooLarge, UnsupportedMediaType, ValidationFailed } from '../errors.ts';

/** functions-framework parses every body before our handler runs and keeps the bytes here. */
interface FrameworkRequest extends IncomingMessage {
  rawBody?: Buffer;
}

/** The bytes functions-framework already read (it parses every body first), or undefined on the lean host. */
export function frameworkBody(req: IncomingMessage): Buffer | undefined {
  const raw = (req as FrameworkRequest).rawBody;
  return Buffer.isBuffer(raw) ? raw : undefined;
}

/**
 * Refuse (413 PayloadTooLarge naming `reported`) a body known to be over `limit` before reading it: the
 * bytes functions-framework kept, else a declared Content-Length (the rest is drained so the connection
 * can still answer). A body of unknown length is left to the streaming read.
 */
export function refuseKnownOversize(req: IncomingMessage, limit: number, reported = limit): void {
  const framework = frameworkBody(req);
  const declared = Number(req.headers['content-length'] ?? Number.NaN);
  if ((framework ? framework.length : declared) > limit) {
    if (!framework) req.resume();
    throw new PayloadTooLarge(reported);
  }
}

/**
 * Read the request body with a limit. Under functions-framework the bytes were already read (its own
 * limit is 1 GB), so the limit is checked on what it kept; on the lean host the body is streamed and
 * the read stops at the limit (413) — a Content-Length over the limit is refused before reading.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const framework = frameworkBody(req);
  if (framework) {
    refuseKnownOversize(req, limit);
    return framework;
  }
  if ((req as { body?: unknown }).body !== undefined && req.readableEnded) return Buffer.alloc(0);
  refuseKnownOversize(req, limit);
  const declared = req.headers['content-length'];
  return readLimited(req, limit, declared === undefined ? undefined : Number(declared));
}

/**
 * Collect a stream's bytes, stopping at `limit` (413) and checking a declared length (400 when the
 * body ends short). Written here rather than taken from raw-body: that package loads iconv-lite (~480 KiB
 * of code) at start-up for a decoding step we never use, and cold start is a feature.
 */
function readLimited(req: IncomingMessage, limit: number, declared: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
    };
    const fail = (error: Error) => {
      cleanup();
      req.resume(); // drain what is left so the connection can answer
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > limit) fail(new PayloadTooLarge(limit));
      else chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      if (declared !== undefined && received !== declared) {
        reject(new ValidationFailed(`the request body ended after ${received} of ${declared} bytes`));
      } else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    };
    const onError = (error: Error) =>
      fail(new ValidationFailed('the request body could not be read', { cause: error }));
    const onAborted = () => fail(new ValidationFailed('the client aborted the request'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}

/** `application/json` or any `+json` media type. */
export function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0]?.trim().toLowerCase() ?? '';
  return type === 'application/json' || type.endsWith('+json');
}

/** Parse a JSON body; refuses other media types (415) and malformed JSON (400). */
export function parseJsonBody(req: IncomingMessage, bytes: Buffer): unknown {
  if (!isJson(req.headers['content-type'])) {
    throw new UnsupportedMediaType('the request body must be application/json');
  }
  if (bytes.length === 0)
    throw new ValidationFailed('the request body is empty', { issues: [{ field: '', message: 'required' }] });
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ValidationFailed('the request body is not valid JSON', {
      cause: error,
      issues: [{ field: '', message: 'malformed JSON' }],
    });
  }
}
