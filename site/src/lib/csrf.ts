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

const FORM_CONTENT_TYPES = ['application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain'];

/**
 * Whether a request is a cross-site form submission: astro's `security.checkOrigin` rule
 * (astro/dist/core/app/origin-check.js `isForbiddenCrossOriginRequest`, Astro 7.3), run by our own
 * middleware so the refusal is the site's 403 page: an unsafe method whose `Origin` is not the site's
 * origin (`url`, built from the forwarded host/proto Astro trusts for `security.allowedDomains`) is
 * refused when it carries a form content type (`application/x-www-form-urlencoded`,
 * `multipart/form-data`, `text/plain`) or no content type at all.
 */
export function isCrossSiteFormPost(request: Request, url: URL): boolean {
  if (!needsCsrf(request.method)) return false;
  const sameOrigin = request.headers.get('origin') === url.origin;
  const type = request.headers.get('content-type');
  if (type === null) return !sameOrigin;
  const formLike = FORM_CONTENT_TYPES.some((t) => type.toLowerCase().includes(t));
  return formLike && !sameOrigin;
}

/**
 * Where a refused form should lead back to: the page it was sent from (`Referer`, when on this origin),
 * else the address it was posted to; always a local path.
 */
export function refusedFormPage(request: Request, url: URL): string {
  const referer = request.headers.get('referer');
  if (referer) {
    try {
      const from = new URL(referer);
      if (from.origin === url.origin) return from.pathname + from.search;
    } catch {
      // not a URL: fall back to the form's address
    }
  }
  return url.pathname + url.search;
}
