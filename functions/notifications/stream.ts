import type { ServerResponse } from 'node:http';
import { routeOf } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { isThrough } from '../lib/inbox/cursor.ts';
import { type Inbox, inboxesOf, type NotificationView, toView } from '../lib/inbox/inbox.ts';
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
 * `GET /notifications/stream`: Server-Sent Events of the caller's inboxes, from a cursor (lib/inbox/cursor.ts):
 * the `Last-Event-ID` the client sends (a notification id, or 24 zeros for "before the first"; the site
 * sends the cursor its page was rendered with), else the newest notification at opening ("from now").
 * Takes the cursor, subscribes, replays from the inbox what came after the cursor (signals arriving meanwhile
 * are queued), then forwards live signals. Each notification is sent once per stream, and a live signal of
 * one at or before the cursor is dropped (the client has it: a page that counted it, or a stream that sent
 * it). The first frame carries `id: <cursor>`, so a browser that reconnects before any notification arrived
 * still resumes from where it stood. A `: heartbeat` comment every `heartbeatMs` keeps proxies from closing
 * it. The token comes in the Authorization header like on every route: the edge (edge-auth) requires it
 * and logs query strings, so `?access_token=` is refused (400) rather than accepted here.
 */
export function streamRoute(options: StreamOptions): AnyRoute {
  return routeOf(StreamApi.streamNotifications, async (ctx) => {
    const inboxes = inboxesOf(ctx.identity);
    const res = ctx.res;
    const lastEventId = String(ctx.req.headers['last-event-id'] ?? '');
    // An unknown or expired Last-Event-ID starts from now, like none.
    const from =
      (lastEventId ? await options.inbox.resolve(inboxes, lastEventId) : undefined) ??
      (await options.inbox.newest(inboxes, new Date()));
    let queued: NotificationView[] | undefined = [];
    const sent = new Set<string>();
    const send = (view: NotificationView) => {
      if (sent.has(view.id) || isThrough(from, view) || res.writableEnded) return;
      sent.add(view.id);
      res.write(frame(view));
    };
    const stop = await options.hub.subscribe(inboxes, (view) => {
      if (queued) queued.push(view);
      else send(view);
    });
    let replay: NotificationView[];
    try {
      replay = (await options.inbox.after(inboxes, from, new Date(), options.replayLimit)).map((doc) =>
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
    // An id with no data sets the browser's last event ID without dispatching an event (WHATWG HTML §9.2.6).
    res.write(`retry: 3000\nid: ${from.id}\n: connected\n\n`);
    for (const view of replay) send(view);
    for (const view of queued) send(view);
    queued = undefined;
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
