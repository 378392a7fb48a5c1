import type { ServerResponse } from 'node:http';
import { routeOf } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { type Cursor, cursorOf, isThrough } from '../lib/inbox/cursor.ts';
import {
  type Inbox,
  inboxesOf,
  type NotificationDoc,
  type NotificationView,
  toView,
} from '../lib/inbox/inbox.ts';
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

const frame = (view: NotificationView, id: string) =>
  `id: ${id}\nevent: notification\ndata: ${JSON.stringify(view)}\n\n`;
/** Rounds of one catch-up at most (each replayLimit notifications): a bound, never reached in practice. */
const MAX_ROUNDS = 10;
/** Catch-ups for a signal of a notification stored but not committed yet: 20 ms doubling to 5 s, ~10 s in all. */
const RETRIES = 9;

/**
 * `GET /notifications/stream`: Server-Sent Events of the caller's inboxes, from a cursor (lib/inbox/cursor.ts):
 * the `Last-Event-ID` the client sends (a notification id, or 24 zeros for "before the first"; the site
 * sends the cursor its page was rendered with), else the newest notification at opening ("from now").
 * Takes the cursor, subscribes, replays from the inbox what came after it (at most `replayLimit`; past that it
 * skips to the newest, as a fresh stream would), then answers each live signal by catching up from the inbox:
 * what came after the last notification sent, in the cursor order, committed (a signal is only a doorbell, so
 * one published late, out of order or lost is made up by the next). Each frame's `id:` is the notification's
 * own id, and everything at or before it has been sent: a reconnect with it loses nothing. A signal of a
 * notification that is not stored (inbox off, live on) is forwarded as it is, with the current resume id.
 * Each notification is sent once per stream. The first frame carries `id: <cursor>`, so a browser that
 * reconnects before any notification arrived still resumes from where it stood. A `: heartbeat` comment every
 * `heartbeatMs` keeps proxies from closing it; a catch-up that fails ends the stream (the client resumes).
 * The token comes in the Authorization header like on every route: the edge (edge-auth) requires it
 * and logs query strings, so `?access_token=` is refused (400) rather than accepted here.
 */
export function streamRoute(options: StreamOptions): AnyRoute {
  const { inbox } = options;
  return routeOf(StreamApi.streamNotifications, async (ctx) => {
    const inboxes = inboxesOf(ctx.identity);
    const res = ctx.res;
    const lastEventId = String(ctx.req.headers['last-event-id'] ?? '');
    // An unknown or expired Last-Event-ID starts from now, like none.
    const from =
      (lastEventId ? await inbox.resolve(inboxes, lastEventId) : undefined) ??
      (await inbox.newest(inboxes, new Date()));
    /** The resume point: the client has everything at or before it. */
    let at: Cursor = from;
    const gone = () => res.writableEnded || res.destroyed;
    let queued: NotificationView[] | undefined = [];
    const sent = new Set<string>();
    /** Send these (in the cursor order): each frame's id is a resume point. */
    const sendStored = (docs: readonly NotificationDoc[]) => {
      for (const doc of docs) {
        if (gone()) return;
        at = cursorOf(doc);
        if (sent.has(at.id)) continue;
        sent.add(at.id);
        res.write(frame(toView(doc, ctx.identity.sub), at.id));
      }
    };
    const catchUp = async () => {
      for (let round = 0; round < MAX_ROUNDS && !gone(); round += 1) {
        const docs = await inbox.after(inboxes, at, new Date(), options.replayLimit);
        sendStored(docs);
        if (docs.length < options.replayLimit) return;
      }
    };
    /** Signals not answered yet, and the catch-up answering them (one at a time). */
    const pending: NotificationView[] = [];
    let draining = false;
    /** Signals of stored notifications not committed yet: asked again shortly (attempts per id). */
    const waiting = new Map<string, number>();
    const timers = new Set<NodeJS.Timeout>();
    const answer = async (signals: readonly NotificationView[]) => {
      await catchUp();
      const unsent = signals.filter((view) => !sent.has(view.id) && !isThrough(from, view));
      if (unsent.length === 0) return;
      const stored = await inbox.stored(unsent.map((view) => view.id));
      const later: NotificationView[] = [];
      for (const view of unsent) {
        if (sent.has(view.id) || gone()) continue;
        const placed = stored.get(view.id);
        if (placed === undefined) {
          sent.add(view.id); // never stored (inbox off, live on): as it is, under the current resume id
          res.write(frame(view, at.id));
        } else if (!isThrough(at, placed)) later.push(view); // stored, not committed yet: shortly
      }
      for (const view of later) {
        const attempt = (waiting.get(view.id) ?? 0) + 1;
        if (attempt > RETRIES) continue; // the next signal or a reconnect catches it up
        waiting.set(view.id, attempt);
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            wake([view]);
          },
          10 * 2 ** attempt,
        );
        timers.add(timer);
      }
    };
    const drain = async () => {
      try {
        while (pending.length > 0 && !gone()) await answer(pending.splice(0));
      } finally {
        draining = false; // in the same turn as the last check: a signal after it starts a new drain
      }
    };
    const wake = (views: readonly NotificationView[]) => {
      pending.push(...views);
      if (draining) return;
      draining = true;
      drain().catch((error: unknown) => {
        ctx.log.warn({ err: error, code: 'dependency_unavailable' }, 'stream catch-up failed: ended');
        res.end();
      });
    };
    const stop = await options.hub.subscribe(inboxes, (view) => {
      if (queued) queued.push(view);
      else wake([view]);
    });
    let replay: NotificationDoc[];
    let skipTo: Cursor | undefined;
    try {
      replay = await inbox.after(inboxes, from, new Date(), options.replayLimit);
      // More missed than a replay sends: the rest is skipped (the inbox lists it), as from a fresh stream.
      if (replay.length >= options.replayLimit) skipTo = await inbox.newest(inboxes, new Date());
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
    sendStored(replay);
    if (skipTo && !gone()) {
      at = skipTo;
      res.write(`id: ${at.id}\n\n`);
    }
    const signals = queued;
    queued = undefined;
    if (signals.length > 0) wake(signals);
    const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), options.heartbeatMs);
    options.open.add(res);
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      clearInterval(heartbeat);
      for (const timer of timers) clearTimeout(timer);
      stop();
      options.open.delete(res);
    };
    res.on('close', done);
    // The client may have left while we subscribed or replayed: 'close' has fired already then.
    if (res.destroyed || ctx.req.socket.destroyed) done();
    return undefined;
  });
}
