import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { ExponentialBackoff, handleWhenResult, noJitterGenerator, retry } from 'cockatiel';
import type { Redis } from 'ioredis';
import type { Runtime } from '../runtime.ts';
import { createLocalCache } from './local-cache.ts';

/**
 * Cache-aside for catalog reads, shared by the functions that change what the catalog shows.
 *
 * Keys (under REDIS_KEY_PREFIX): `catalog:anime:<id>` the detail object; `catalog:anime-gen:<id>` a
 * per-anime generation; `catalog:ver` the version of every list/search result, which lives at
 * `catalog:list:<ver>:<hash of the query>`. A write, after its commit and before it answers, deletes
 * the object and bumps both counters. A reader fills the object only if the generation it saw before
 * reading PostgreSQL is still current (a Lua check-and-set), so a read that raced a write can never
 * put the old aggregate back. TTLs are a safety net only. An invalidation Redis refuses (a partition)
 * is kept and retried in the background (≤ 2 s apart) until Redis takes it; a reader that still reaches
 * Redis during such a partition can see the old object until then. When Redis fails, reads go to PostgreSQL and
 * the failure is logged and counted (`dependency_errors_total{dependency="redis"}`), never a 5xx. Every
 * lookup is counted in `cache_lookups_total{cache="anime"|"list", result="hit"|"miss"|"error"}` (a hit
 * served from this process's memory counts as a hit too).
 */
export interface CatalogCache {
  /**
   * The anime detail as JSON (UTF-8 bytes): cached, else `load()` serialised once (and filled into the
   * cache when Redis answers). Bytes, so a cached read is sent as it is: never parsed, serialised or
   * encoded again (a hit held in this process is one `res.end(buffer)`). A hit held in this process is
   * answered at once (the bytes, no promise), anything else as a promise.
   */
  anime<T>(id: number, load: () => Promise<T | undefined>): Buffer | Promise<Buffer | undefined>;
  /**
   * A list/search result as JSON (UTF-8 bytes): cached for this query, else `load()` serialised once; at
   * once when held in this process, as `anime` is.
   */
  list<T>(query: Readonly<Record<string, unknown>>, load: () => Promise<T>): Buffer | Promise<Buffer>;
  /** Forget an anime's object and every list (call after the commit, before answering). */
  invalidate(animeIds: readonly number[]): Promise<void>;
}

export interface CatalogCacheOptions {
  readonly animeTtlSeconds?: number;
  readonly listTtlSeconds?: number;
  /**
   * Entries kept in this process (./local-cache.ts: a hit never leaves the process, Redis invalidation
   * keeps it correct); 0 = none (writers, which only invalidate).
   */
  readonly localEntries?: number;
}

type FillingRedis = Redis & {
  fillIfCurrent(key: string, genKey: string, value: string, ttl: number, gen: string): Promise<unknown>;
  listGet(verKey: string, listPrefix: string, hash: string): Promise<[string, string | null]>;
  invalidateAnime(numberOfKeys: number, ...keysThenTtl: (string | number)[]): Promise<unknown>;
};

const FILL_IF_CURRENT = `
local gen = redis.call('get', KEYS[2])
if (gen or '') == ARGV[3] then return redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2]) end
return 0`;

/** The current list version and the cached result for a query under it, in one round trip. */
const LIST_GET = `
local ver = redis.call('get', KEYS[1]) or '0'
return {ver, redis.call('get', ARGV[1] .. ver .. ':' .. ARGV[2])}`;

/**
 * A write's invalidation as one command (atomic, as a MULTI was): KEYS are each anime's object and
 * generation key, then the list version; ARGV[1] the generation's TTL. One command instead of MULTI, three
 * per anime, one more and EXEC (bench/README.md, "Rating write").
 */
export const INVALIDATE = `
for i = 1, #KEYS - 1, 2 do
  redis.call('del', KEYS[i])
  redis.call('incr', KEYS[i + 1])
  redis.call('expire', KEYS[i + 1], ARGV[1])
end
redis.call('incr', KEYS[#KEYS])
return 1`;

const GEN_TTL_SECONDS = 86_400;
/** Prefix of a list's key in this process (./local-cache.ts drops them all when `catalog:ver` changes). */
const LIST = 'list:';
/** Backoff of the background retry of invalidations Redis refused: 250 ms doubling up to 2 s. */
const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2_000;

/** Build the cache over an ioredis client (or none: every read goes to PostgreSQL). */
export function createCatalogCache(
  runtime: Runtime,
  redis: Redis | undefined,
  options: CatalogCacheOptions = {},
): CatalogCache {
  const animeTtl = options.animeTtlSeconds ?? 300;
  const listTtl = options.listTtlSeconds ?? 60;
  const guard = runtime.guard('redis', {
    attempts: 1,
    timeoutMs: 300,
    breakAfter: 5,
    halfOpenAfterMs: 2_000,
  });
  let lastWarn = 0;
  const lookups = runtime.metrics.cacheLookups;
  // Bound once: a labelled inc() hashes its labels on every call, and hits are the hot path.
  const animeHit = lookups.labels({ cache: 'anime', result: 'hit' });
  const listHit = lookups.labels({ cache: 'list', result: 'hit' });
  const client = redis as FillingRedis | undefined;
  if (client && typeof client.fillIfCurrent !== 'function') {
    client.defineCommand('fillIfCurrent', { numberOfKeys: 2, lua: FILL_IF_CURRENT });
  }
  if (client && typeof client.listGet !== 'function') {
    client.defineCommand('listGet', { numberOfKeys: 1, lua: LIST_GET });
  }
  if (client && typeof client.invalidateAnime !== 'function') {
    client.defineCommand('invalidateAnime', { lua: INVALIDATE });
  }
  const local =
    client && (options.localEntries ?? 0) > 0
      ? createLocalCache(runtime, client, { maxEntries: options.localEntries ?? 0 })
      : undefined;
  /** The local key (`list:<normalised query>`) of each frozen query `list` was given: made once, the same string every time. */
  const listKeys = new WeakMap<object, string>();
  /** Anime whose invalidation Redis has not taken yet (retried by `retryPending`). */
  const pending = new Set<number>();
  /** Whether the background retry runs (one at a time). */
  let retrying = false;
  // Until Redis takes it: a flush answers false while Redis refuses (it never throws). After the first wait
  // (RETRY_FIRST_MS, in `retryPending`) the waits double from 2 × RETRY_FIRST_MS up to RETRY_MAX_MS; the
  // timers are unref'd, so a pending retry never holds a stopping process.
  const untilTaken = retry(
    handleWhenResult((done) => done !== true),
    {
      maxAttempts: Number.POSITIVE_INFINITY,
      backoff: new ExponentialBackoff({
        generator: noJitterGenerator,
        initialDelay: 2 * RETRY_FIRST_MS,
        maxDelay: RETRY_MAX_MS,
      }),
    },
  ).dangerouslyUnref();
  // Keys built inside a script get no keyPrefix from ioredis: add it ourselves.
  const prefix = (client?.options.keyPrefix as string | undefined) ?? '';

  /** Run a Redis call; on failure log (at most every 10 s) and answer undefined. */
  async function attempt<T>(what: string, call: (r: FillingRedis) => Promise<T>): Promise<T | undefined> {
    if (!client) return undefined;
    try {
      return await guard.run(() => call(client));
    } catch (error) {
      const now = Date.now();
      if (now - lastWarn > 10_000) {
        lastWarn = now;
        runtime.log.warn(
          { err: error, code: 'dependency_unavailable', dependency: 'redis', op: what },
          'redis unavailable; serving from postgresql',
        );
      }
      return undefined;
    }
  }

  return {
    anime(id, load) {
      const held = local?.get(`anime:${id}`);
      if (held !== undefined) {
        animeHit.inc();
        return held;
      }
      return fetchAnime(id, load);
    },

    list(query, load) {
      // In process the normalised query itself is the key: no digest on a hit. A frozen query cannot change,
      // so its key is made once (the catalog passes one frozen object per query string it sees).
      let key = listKeys.get(query);
      if (key === undefined) {
        key = `${LIST}${normalQuery(query)}`;
        if (Object.isFrozen(query)) listKeys.set(query, key);
      }
      const held = local?.get(key);
      if (held !== undefined) {
        listHit.inc();
        return held;
      }
      return fetchList(key, load);
    },

    async invalidate(animeIds) {
      if (!client) return;
      for (let tries = 0; tries < 3; tries++) {
        if (await flush(animeIds)) return;
      }
      // Not lost: kept and retried until Redis takes it, so once a partition heals the old object is gone
      // within RETRY_MAX_MS instead of living out its TTL (found by test/e2e/crash-stores.test.ts's Redis outage).
      for (const id of animeIds) pending.add(id);
      runtime.log.error(
        { code: 'dependency_unavailable', dependency: 'redis', animeIds },
        'could not invalidate cached anime; retrying in the background until Redis answers',
      );
      retryPending();
    },
  };

  /** The detail from Redis (kept in process when it answers), else from `load()` (filled into Redis). */
  async function fetchAnime<T>(id: number, load: () => Promise<T | undefined>): Promise<Buffer | undefined> {
    const key = `catalog:anime:${id}`;
    const genKey = `catalog:anime-gen:${id}`;
    const epoch = local?.epoch() ?? 0;
    const cached = await attempt('get', (r) => r.mget(key, genKey));
    lookups.inc({ cache: 'anime', result: cached ? (cached[0] ? 'hit' : 'miss') : 'error' });
    if (cached?.[0]) {
      const bytes = Buffer.from(cached[0]);
      local?.set(`anime:${id}`, bytes, epoch, animeTtl);
      return bytes;
    }
    const value = await load();
    if (value === undefined) return undefined;
    const text = JSON.stringify(value);
    if (cached) await attempt('fill', (r) => r.fillIfCurrent(key, genKey, text, animeTtl, cached[1] ?? ''));
    return Buffer.from(text);
  }

  /** A list from Redis (kept in process when it answers), else from `load()` (filled into Redis). */
  async function fetchList<T>(key: string, load: () => Promise<T>): Promise<Buffer> {
    const normal = key.slice(LIST.length);
    const hash = createHash('sha1').update(normal).digest('base64url');
    const epoch = local?.epoch() ?? 0;
    const found = await attempt('get', (r) => r.listGet('catalog:ver', `${prefix}catalog:list:`, hash));
    lookups.inc({ cache: 'list', result: found ? (found[1] ? 'hit' : 'miss') : 'error' });
    if (found?.[1]) {
      const bytes = Buffer.from(found[1]);
      local?.set(key, bytes, epoch, listTtl);
      return bytes;
    }
    const text = JSON.stringify(await load());
    if (found) await attempt('fill', (r) => r.set(`catalog:list:${found[0]}:${hash}`, text, 'EX', listTtl));
    return Buffer.from(text);
  }

  /** Delete the objects, bump their generations and the list version (one script): true when Redis took it. */
  async function flush(animeIds: readonly number[]): Promise<boolean> {
    const keys = animeIds.flatMap((id) => [`catalog:anime:${id}`, `catalog:anime-gen:${id}`]);
    keys.push('catalog:ver');
    const done = await attempt('invalidate', async (r) => {
      await r.invalidateAnime(keys.length, ...keys, GEN_TTL_SECONDS);
      return true;
    });
    return done === true;
  }

  /**
   * Retry the pending invalidations in the background (cockatiel: 250 ms, then 500 ms doubling to 2 s
   * between attempts, no jitter) until Redis takes them; each attempt sends every anime pending at that
   * moment, and those that arrive meanwhile go in the next round. One retry runs at a time.
   */
  function retryPending(): void {
    if (retrying || pending.size === 0) return;
    retrying = true;
    void (async () => {
      try {
        while (pending.size > 0) {
          await sleep(RETRY_FIRST_MS, undefined, { ref: false });
          let ids: number[] = [];
          await untilTaken.execute(() => {
            ids = [...pending];
            return flush(ids);
          });
          for (const id of ids) pending.delete(id);
          runtime.log.info({ animeIds: ids }, 'pending catalog invalidations reached redis');
        }
      } finally {
        // In the same turn as the last `pending.size` check: an invalidation added later starts a new retry.
        retrying = false;
      }
    })();
  }
}

/** A stable hash of a normalised query (keys sorted, undefined dropped). */
export function hashQuery(query: Readonly<Record<string, unknown>>): string {
  return createHash('sha1').update(normalQuery(query)).digest('base64url');
}

/** A query as stable JSON (keys sorted, undefined dropped). */
function normalQuery(query: Readonly<Record<string, unknown>>): string {
  return JSON.stringify(
    Object.keys(query)
      .filter((k) => query[k] !== undefined)
      .sort()
      .map((k) => [k, query[k]]),
  );
}
