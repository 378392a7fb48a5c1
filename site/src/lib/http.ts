/** Small response helpers shared by endpoints and pages. */

/** 303 See Other: after a POST, or to send the browser elsewhere with a GET. */
export const seeOther = (location: string) =>
  new Response(null, { status: 303, headers: { location, 'cache-control': 'private, no-store' } });

/** The public URL of this request as the browser sent it (behind the edge: the site origin, never the internal one). */
export function publicUrl(url: URL, siteOrigin: string): URL {
  return new URL(url.pathname + url.search, siteOrigin);
}
