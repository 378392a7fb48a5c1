/**
 * `?returnTo=` after sign-in: only a path on this site (no scheme, no host, no `//` or `\` tricks), so the
 * sign-in flow cannot be used as an open redirect. Anything else falls back to `/`.
 */
export function safeReturnTo(raw: string | null | undefined, fallback = '/'): string {
  if (!raw || raw.length > 2_000) return fallback;
  if (!raw.startsWith('/') || raw.startsWith('//') || raw.startsWith('/\\')) return fallback;
  // Control characters and backslashes can be read as other URLs by browsers.
  for (const ch of raw) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || ch === '\\') return fallback;
  }
  const url = new URL(raw, 'https://site.invalid');
  if (url.origin !== 'https://site.invalid') return fallback;
  if (url.pathname.startsWith('/auth/')) return fallback;
  return url.pathname + url.search + url.hash;
}
