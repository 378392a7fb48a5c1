import type { ServerResponse } from 'node:http';
import { routeOf } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { type Inbox, inboxesOf, type NotificationView, parseId, toView } from '../lib/inbox/inbox.ts';
import { StreamApi } from './api.ts';
import type { LiveHub } from './live.ts';

export interface StreamOptions {
  readonly inbox: Inbox;
  readonly hub: LiveHub;
  readonly heartbeatMs: number;
  /** At most this many missed notifications are replayed on a reconnect (Last-Event-ID). */
  readonly replayLimit: number;
  /** Open streams, ended at shutdown. */
  readonly open: Set<ServerResponse>;
}

const frame = (view: NotificationView) =>
  `id: ${view.id}\nevent: notification\ndata: ${JSON.stringify(view)}\n\n`;

/**
 * `GET /notifications/stream`: Server-Sent Events of the caller's inboxes. Subscribes first, then replays
 * what came after `Last-Event-ID` from the inbox (signals arriving meanwhile are queued and deduplicated),
 * then forwards live notifications; a `: heartbeat` comment every `heartbeatMs` keeps proxies from closing
 * it. The token comes in the Authorization header like on every route: the edge (edge-auth) requires it
 * and logs query strings, so `?access_token=` is refused (400) rather than accepted here.
 */
export function streamRoute(options: StreamOptions): AnyRoute {
  return routeOf(StreamApi.streamNotifications, async (ctx) => {
    const inboxes = inboxesOf(ctx.identity);
    const res = ctx.res;
    let queued: NotificationView[] | undefined = [];
    const sent = new Set<string>();
    const send = (view: NotificationView) => {
      if (sent.has(view.id) || res.writableEnded) return;
      res.write(frame(view));
    };
    const stop = await options.hub.subscribe(inboxes, (view) => {
      if (queued) queued.push(view);
      else send(view);
    });
    let replay: NotificationView[] = [];
    try {
      const lastId = parseId(String(ctx.req.headers['last-event-id'] ?? ''));
      if (lastId)
        replay = (await options.inbox.after(inboxes, lastId, new Date(), options.replayLimit)).map((doc) =>
          toView(doc, ctx.identity.sub),
        );
    } catch (error) {
      stop();
      throw error;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      // nginx: do not buffer this response (the edge also sets proxy_buffering off on this route).
      'x-accel-buffering': 'no',
    });
    res.write(`retry: 3000\n: connected\n\n`);
    for (const view of replay) {
      send(view);
      sent.add(view.id);
    }
    for (const view of queued) send(view);
    queued = undefined;
    sent.clear();
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs);
    options.open.add(res);
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      stop();
      options.open.delete(res);
    };
    res.on('close', done);
    // The client may have left while we subscribed or replayed: 'close' has fired already then.
    if (res.destroyed || ctx.req.socket.destroyed) done();
    return undefined;
  });
}
