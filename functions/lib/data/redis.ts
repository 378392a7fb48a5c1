import { Redis } from 'ioredis';
import type { Runtime } from '../runtime.ts';

interface RedisOptions {
  readonly url: string;
  /** Prefix on every key (per environment, per test run). */
  readonly keyPrefix?: string;
}

/**
 * An ioredis client that fails fast when Redis is down (no offline queue, one attempt per command)
 * so callers can fall back to the database instead of waiting. Reconnects in the background.
 */
export function createRedis(runtime: Runtime, options: RedisOptions): Redis {
  const redis = new Redis(options.url, {
    keyPrefix: options.keyPrefix ?? '',
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 1_000,
    commandTimeout: 500,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  let warned = false;
  redis.on('error', (error) => {
    if (!warned) runtime.log.warn({ err: error, code: 'dependency_unavailable' }, 'redis unavailable');
    warned = true;
  });
  redis.on('ready', () => {
    warned = false;
  });
  runtime.addCheck('redis', () => redis.ping());
  runtime.onShutdown(() => redis.quit().catch(() => redis.disconnect()));
  return redis;
}
