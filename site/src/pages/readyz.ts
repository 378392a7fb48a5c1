import type { APIRoute } from 'astro';
import { siteReady } from '../lib/wiring.ts';

/** Readiness: settings loaded and the wiring built (the middleware already awaited it; a failure is a 500). */
export const GET: APIRoute = async () => {
  await siteReady();
  return new Response('{"status":"ready"}', {
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  });
};
