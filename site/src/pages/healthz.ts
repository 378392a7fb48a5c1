import type { APIRoute } from 'astro';

/** Liveness/readiness probe: the server answers (no session, no API call). */
export const GET: APIRoute = () =>
  new Response('{"status":"ok"}', {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
