import type { Redis } from 'ioredis';
import { Counter } from '../prom.ts';
import type { Runtime } from '../runtime.ts';

/**
 * The in-process layer of the catalog cache (issue 17): cached detail and search answers served
 * without leaving the process, kept correct by Redis server-assisted client-side caching
 * (https://redis.io/docs/latest/develop/reference/client-side-caching/), broadcasting mode.
 *
 * One extra connection (RESP2) turns `CLIENT TRACKING on REDIRECT <itself> BCAST PREFIX …` on for the
 * keys writers change (`catalog:anime…`: the object and its generation; `catalog:ver`: every list) and
 * subscribes to `__redis__:invalidate`. Every change of such a key — a writer's DEL/INCR after its
 * commit, a fill, an expiry, an eviction, a flush — drops the matching entries here. Redis queues that
 * message in the same event-loop turn as the writer's reply, so by the time the writer has answered,
 * the message is on its way to every replica and is read before a later request on the same host.
 *
 * Entries are only taken from Redis answers (never from a PostgreSQL load) and only when no
 * invalidation arrived between sending the Redis read and storing its answer (`epoch`): an answer that
 * raced a change is used once, never kept. While the tracking connection is not subscribed (start,
 * Redis down, reconnecting) nothing is kept and nothing is served from here. Entries also expire after
 * the Redis TTL of their kind (safety net) and the oldest go first beyond `maxEntries`.
 */
export interface LocalCache {
  /** The value of `key` (the answer's UTF-8 bytes, sent as they are) when it is held and tracking is live. */
  get(key: string): Buffer | undefined;
  /** The invalidation count now; pass it to `set` for an answer read after this moment. */
  epoch(): number;
  /** Keep `value` unless an invalidation arrived since `epoch` (or tracking is not live). */
  set(key: string, value: Buffer, epoch: number, ttlSeconds: number): void;
  close(): void;
}

/** Local keys: `anime:<id>` and `list:<hash>`. */
export function createLocalCache(
  runtime: Runtime,
  redis: Redis,
  options: { maxEntries: number },
): LocalCache {
  const prefix = (redis.options.keyPrefix as string | undefined) ?? '';
  const entries = new Map<string, { value: Buffer; expires: number }>();
  const hits = new Counter({
    name: 'catalog_local_cache_hits_total',
    help: 'Catalog answers served from this process without a Redis round trip',
    registers: [runtime.metrics.registry],
  });
  let live = false;
  let epoch = 0;
  const drop = () => {
    epoch += 1;
    entries.clear();
  };
  const tracker = redis.duplicate({
    keyPrefix: '',
    protocol: 2,
    enableOfflineQueue: true,
    lazyConnect: false,
    connectionName: 'catalog-local-cache',
    autoResubscribe: false,
  });
  tracker.on('error', () => undefined); // the main client logs Redis failures
  tracker.on('close', () => {
    live = false;
    drop();
  });
  tracker.on('ready', async () => {
    try {
      const id = await tracker.client('ID');
      await tracker.call(
        'CLIENT',
        'TRACKING',
        'on',
        'REDIRECT',
        String(id),
        'BCAST',
        'PREFIX',
        `${prefix}catalog:anime`,
        'PREFIX',
        `${prefix}catalog:ver`,
      );
      await tracker.subscribe('__redis__:invalidate');
      drop();
      live = true;
    } catch (error) {
      runtime.log.warn({ err: error, code: 'dependency_unavailable' }, 'catalog local cache off');
    }
  });
  tracker.on('messageBuffer', (_channel: Buffer, keys: Buffer[] | null) => {
    epoch += 1;
    if (!Array.isArray(keys)) return entries.clear(); // FLUSHALL / FLUSHDB
    for (const raw of keys) {
      const key = raw.toString().slice(prefix.length);
      if (key === 'catalog:ver') {
        for (const k of entries.keys()) if (k.startsWith('list:')) entries.delete(k);
      } else {
        const id = /^catalog:anime(?:-gen)?:(\d+)$/.exec(key)?.[1];
        if (id) entries.delete(`anime:${id}`);
        else entries.clear();
      }
    }
  });
  runtime.onShutdown(async () => {
    live = false;
    tracker.disconnect();
  });

  return {
    get(key) {
      if (!live) return undefined;
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires < Date.now()) {
        entries.delete(key);
        return undefined;
      }
      hits.inc();
      return entry.value;
    },
    epoch: () => epoch,
    set(key, value, seen, ttlSeconds) {
      if (!live || seen !== epoch) return;
      entries.delete(key);
      entries.set(key, { value, expires: Date.now() + ttlSeconds * 1000 });
      if (entries.size > options.maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
    },
    close() {
      live = false;
      tracker.disconnect();
    },
  };
}
