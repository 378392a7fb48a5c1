import type { IncomingMessage } from 'node:http';
import getRawBody from 'raw-body';
import { PayloadTooLarge, UnsupportedMediaType, ValidationFailed } from '../errors.ts';

/** functions-framework parses every body before our handler runs and keeps the bytes here. */
interface FrameworkRequest extends IncomingMessage {
  rawBody?: Buffer;
}

/**
 * Read the request body with a limit. Under functions-framework the bytes were already read (its own
 * limit is 1 GB), so the limit is checked on what it kept; on the lean host the body is streamed and
 * the read stops at the limit (413) — a Content-Length over the limit is refused before reading.
 */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const framework = (req as FrameworkRequest).rawBody;
  if (Buffer.isBuffer(framework)) {
    if (framework.length > limit) throw new PayloadTooLarge(limit);
    return framework;
  }
  if ((req as { body?: unknown }).body !== undefined && req.readableEnded) return Buffer.alloc(0);
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    throw new PayloadTooLarge(limit);
  }
  try {
    return await getRawBody(req, { limit, length: declared });
  } catch (error) {
    if ((error as { type?: string }).type === 'entity.too.large') throw new PayloadTooLarge(limit);
    throw new ValidationFailed('the request body could not be read', { cause: error });
  }
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
