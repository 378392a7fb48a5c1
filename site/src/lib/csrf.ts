/**
 * CSRF defence in depth: Astro's origin check refuses cross-site form posts; on top of it every
 * state-changing request must carry the session's own token (`_csrf` form field or `x-csrf-token` header),
 * compared in constant time. A session cookie alone (SameSite=Lax) is never enough.
 */
import { timingSafeEqual } from 'node:crypto';

/** The form field every state-changing form carries. */
export const CSRF_FIELD = '_csrf';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether `method` may change state (and therefore needs a token). */
export const needsCsrf = (method: string) => !SAFE.has(method.toUpperCase());

/** Constant-time comparison of the sent token with the session's. */
export function csrfMatches(expected: string | undefined, sent: string | null | undefined): boolean {
  if (!expected || !sent) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(sent);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The token a request sent: the `x-csrf-token` header, else the `_csrf` field of a url-encoded or
 * multipart body (read from a clone, so the handler can still read the body).
 */
export async function sentCsrf(request: Request): Promise<string | undefined> {
  const header = request.headers.get('x-csrf-token');
  if (header) return header;
  const type = request.headers.get('content-type') ?? '';
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return undefined;
  try {
    const form = await request.clone().formData();
    const value = form.get(CSRF_FIELD);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}
