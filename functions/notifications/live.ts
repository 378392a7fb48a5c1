import { Redis } from 'ioredis';
import { DependencyUnavailable } from '../lib/errors.ts';
import { channelOf, type NotificationView } from '../lib/inbox/inbox.ts';
import type { Runtime } from '../lib/runtime.ts';

export type LiveListener = (view: NotificationView) => void;

/** One Redis subscriber per process, fanning live notifications out to the open streams. */
export interface LiveHub {
  /** Listen to these inboxes; resolves once Redis confirmed the subscription, with the way to stop. */
  subscribe(inboxes: readonly string[], listener: LiveListener): Promise<() => void>;
}

/**
 * A shared subscriber: SUBSCRIBE `<prefix>notifications:<inbox>` when the first stream of an inbox opens,
 * UNSUBSCRIBE when its last one closes. ioredis resubscribes by itself after a reconnect. A subscription
 * Redis does not confirm within `timeoutMs` is DependencyUnavailable (503: the client retries).
 */
export function createLiveHub(
  runtime: Runtime,
  options: { readonly url: string; readonly keyPrefix: string; readonly timeoutMs?: number },
): LiveHub {
  const subscriber = new Redis(options.url, {
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let warned = false; // once per outage, not once per reconnect attempt
  subscriber.on('error', (error) => {
    if (!warned)
      runtime.log.warn({ err: error, code: 'dependency_unavailable' }, 'redis subscriber unavailable');
    warned = true;
  });
  subscriber.on('ready', () => {
    warned = false;
  });
  runtime.addCheck('redis', async () => {
    if (subscriber.status !== 'ready') throw new Error(`redis subscriber is ${subscriber.status}`);
  });
  runtime.onShutdown(() => subscriber.quit().catch(() => subscriber.disconnect()));
  const listeners = new Map<string, Set<LiveListener>>();
  const subscribed = new Map<string, Promise<unknown>>();
  subscriber.on('message', (channel: string, message: string) => {
    const set = listeners.get(channel);
    if (!set) return;
    let view: NotificationView;
    try {
      view = JSON.parse(message) as NotificationView;
    } catch {
      runtime.log.warn({ channel }, 'unreadable live signal ignored');
      return;
    }
    for (const listener of set) listener(view);
  });
  const timeoutMs = options.timeoutMs ?? 2_000;

  return {
    async subscribe(inboxes, listener) {
      const channels = inboxes.map((inbox) => channelOf(options.keyPrefix, inbox));
      for (const channel of channels) {
        let set = listeners.get(channel);
        if (!set) {
          set = new Set();
          listeners.set(channel, set);
          const confirmed = subscriber.subscribe(channel);
          confirmed.catch(() => undefined); // awaited below; a stream that left early must not leak a rejection
          subscribed.set(channel, confirmed);
        }
        set.add(listener);
      }
      const stop = () => {
        for (const channel of channels) {
          const set = listeners.get(channel);
          set?.delete(listener);
          if (set && set.size === 0) {
            listeners.delete(channel);
            subscribed.delete(channel);
            subscriber.unsubscribe(channel).catch(() => undefined);
          }
        }
      };
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          Promise.all(channels.map((c) => subscribed.get(c))),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('subscription not confirmed')), timeoutMs);
          }),
        ]);
      } catch (error) {
        stop();
        throw new DependencyUnavailable('redis', { cause: error, retryAfter: 2 });
      } finally {
        clearTimeout(timer);
      }
      return stop;
    },
  };
}
