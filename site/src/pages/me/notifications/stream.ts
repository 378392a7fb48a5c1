import { Readable } from 'node:stream';
import type { APIRoute } from 'astro';
import { PROBLEM_MEDIA_TYPE } from '../../../../../functions/lib/problem.ts';
import { accessToken } from '../../../lib/viewer.ts';
import { site } from '../../../lib/wiring.ts';

/**
 * GET /me/notifications/stream — the viewer's live notifications (Server-Sent Events), relayed from the
 * notifications function (`GET /notifications/stream`) with the token this site holds: the browser reads
 * it with fetch + a stream reader on its own origin and never sees the token. `Last-Event-ID` is passed
 * on, so a reconnect replays what was missed. The stream ends when the browser goes away (or the API ends
 * it; the browser then reconnects). Anonymous → 401 problem.
 */
export const GET: APIRoute = async ({ request, locals }) => {
  const { api, oidc } = site();
  const token = await accessToken(locals.session, oidc);
  if (!token)
    return new Response(JSON.stringify({ title: 'Sign in first', status: 401, code: 'unauthenticated' }), {
      status: 401,
      headers: { 'content-type': PROBLEM_MEDIA_TYPE },
    });
  const last = request.headers.get('last-event-id');
  const upstream = new AbortController();
  request.signal.addEventListener('abort', () => upstream.abort(), { once: true });
  let res: Awaited<ReturnType<typeof api.events>>;
  try {
    res = await api.events({
      path: '/notifications/stream',
      token,
      signal: upstream.signal,
      ...(last && /^[0-9a-f]{24}$/.test(last) ? { headers: { 'last-event-id': last } } : {}),
    });
  } catch {
    return new Response(JSON.stringify({ title: 'The notifications service is unavailable', status: 503 }), {
      status: 503,
      headers: { 'content-type': PROBLEM_MEDIA_TYPE, 'retry-after': '5' },
    });
  }
  if (res.status !== 200) {
    res.body.resume();
    return new Response(JSON.stringify({ title: 'The stream was refused', status: res.status }), {
      status: res.status === 401 ? 401 : 502,
      headers: { 'content-type': PROBLEM_MEDIA_TYPE },
    });
  }
  res.body.on('error', () => undefined);
  return new Response(Readable.toWeb(res.body) as ReadableStream<Uint8Array>, {
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'private, no-store',
      // nginx passes it through unbuffered (proxy_buffering honours X-Accel-Buffering).
      'x-accel-buffering': 'no',
    },
  });
};
