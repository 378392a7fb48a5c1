import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createRedis } from '../../functions/lib/data/redis.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { createCatalogCache } from '../../functions/lib/tracking/catalog-cache.ts';
import { waitUntil } from '../../scripts/servers/harness.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

/**
 * A writer's cache invalidation that Redis refuses (a partition between the writer and Redis) is not
 * dropped: it is retried in the background until Redis takes it, so the object cached before the write is
 * gone soon after the partition heals instead of living out its TTL (found by test/e2e/crash-stores.test.ts's
 * Redis outage, issue 17). The writer reaches the machine's real Redis through a TCP proxy the test cuts;
 * the observer talks to the same Redis directly.
 */
const env = inject('env');
const url = new URL(env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const prefix = `${env.REDIS_KEY_PREFIX ?? 'isekai:test:'}invalidation-${randomUUID()}:`;
let proxy: TcpProxy;
let observer: Redis;
const runtime = createRuntime('catalog-invalidation-test');

beforeAll(async () => {
  proxy = await startTcpProxy(url.hostname, Number(url.port || 6379));
  observer = new Redis(Number(url.port || 6379), url.hostname, { keyPrefix: prefix });
});
afterAll(async () => {
  await runtime.shutdown();
  const keys = await observer.keys(`${prefix}*`);
  if (keys.length > 0) await new Redis(Number(url.port || 6379), url.hostname).del(...keys);
  observer.disconnect();
  await proxy.close();
});

describe('catalog cache invalidation during a Redis partition', () => {
  it('is kept while Redis is unreachable and reaches Redis after the partition heals (also one made meanwhile)', async () => {
    const writerRedis = createRedis(runtime, { url: `redis://${proxy.address}`, keyPrefix: prefix });
    await waitUntil('the writer connected', async () => writerRedis.status === 'ready', {
      deadlineMs: 5_000,
    });
    const cache = createCatalogCache(runtime, writerRedis);
    await observer.set('catalog:anime:7', '{"old":true}');
    await observer.set('catalog:anime:8', '{"old":true}');
    const versionBefore = Number((await observer.get('catalog:ver')) ?? 0);

    await proxy.cut();
    await cache.invalidate([7]); // answers (the write has committed) although Redis refused it
    await cache.invalidate([8]); // while the background retry of 7 runs: joins it
    expect(await observer.mget('catalog:anime:7', 'catalog:anime:8')).toEqual([
      '{"old":true}',
      '{"old":true}',
    ]);

    await proxy.restore();
    await waitUntil(
      'the pending invalidations reached redis',
      async () => (await observer.exists('catalog:anime:7', 'catalog:anime:8')) === 0,
      {
        deadlineMs: 15_000,
        intervalMs: 100,
      },
    );
    expect(Number(await observer.get('catalog:anime-gen:7'))).toBeGreaterThanOrEqual(1);
    expect(Number(await observer.get('catalog:anime-gen:8'))).toBeGreaterThanOrEqual(1);
    expect(Number(await observer.get('catalog:ver'))).toBe(versionBefore + 1);
  }, 30_000);
});
