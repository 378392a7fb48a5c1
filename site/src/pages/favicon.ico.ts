import type { APIRoute } from 'astro';

/** Browsers ask for /favicon.ico on their own: send them to the SVG icon (public/favicon.svg). */
export const GET: APIRoute = () =>
  new Response(null, {
    status: 301,
    headers: { location: '/favicon.svg', 'cache-control': 'public, max-age=86400' },
  });
