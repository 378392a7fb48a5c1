import type { CloudEventV1 } from 'cloudevents';
import type { Redis } from 'ioredis';
import { verifierFromSettings } from '../auth/token-verifier.ts';
import { loadConfig, Type } from '../config.ts';
import { createPostgres, type Postgres } from '../data/postgres.ts';
import { createRedis } from '../data/redis.ts';
import { publishCommitted } from '../events/outbox.ts';
import { createHttpTransport } from '../events/transport.ts';
import type { Authenticator } from '../http/types.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { type CatalogCache, createCatalogCache } from './catalog-cache.ts';

/**
 * Wiring shared by the tracking functions (catalog, library, rate-anime): one database, the catalog
 * cache every writer invalidates, token verification and publishing after commit.
 */

/** Settings shared by the tracking functions (catalog, library, rate-anime). */
export const TrackingSettings = Type.Object({
  DATABASE_URL: Type.String({ minLength: 1 }),
  /** Without it the catalog cache is off and every read goes to PostgreSQL. */
  REDIS_URL: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_KEY_PREFIX: Type.String({ default: 'isekai:' }),
  OIDC_ISSUER: Type.String({ format: 'uri' }),
  OIDC_AUDIENCE: Type.String({ minLength: 1, default: 'isekai-api' }),
  OIDC_JWKS_URL: Type.Optional(Type.String({ format: 'uri' })),
  PG_POOL_MAX: Type.Integer({ minimum: 1, maximum: 100, default: 10 }),
  /** Broker ingress (a SinkBinding sets it); without it events wait in the outbox for outbox-relay. */
  K_SINK: Type.Optional(Type.String({ format: 'uri' })),
  CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 300 }),
  LIST_CACHE_TTL_SECONDS: Type.Integer({ minimum: 1, default: 60 }),
  /** Catalog answers kept in the catalog's own process (0 = none); Redis invalidation keeps them correct. */
  LOCAL_CACHE_ENTRIES: Type.Integer({ minimum: 0, default: 2000 }),
});

/** What a tracking function is wired from; tests build it with their own authenticator. */
export interface TrackingDeps {
  readonly runtime: Runtime;
  readonly db: Postgres;
  readonly cache: CatalogCache;
  readonly redis: Redis | undefined;
  readonly authenticate: Authenticator;
  /** Publish events whose transaction committed (never throws; the relay retries what fails). */
  readonly publish: (events: readonly CloudEventV1<unknown>[]) => Promise<void>;
}

export interface WiringOverrides {
  readonly authenticate?: Authenticator;
  readonly logDestination?: Parameters<typeof createRuntime>[1] extends infer O
    ? O extends { logDestination?: infer D }
      ? D
      : never
    : never;
}

/**
 * Parse the settings once (fails fast naming what is missing) and create the runtime, the guarded pool,
 * the Redis client (when configured), the catalog cache and the token verifier.
 */
export function wireTracking(
  name: string,
  env: NodeJS.ProcessEnv,
  overrides: WiringOverrides = {},
): TrackingDeps {
  const settings = loadConfig(TrackingSettings, env);
  const runtime = createRuntime(name, { env, logDestination: overrides.logDestination });
  const db = createPostgres(runtime, { url: settings.DATABASE_URL, max: settings.PG_POOL_MAX });
  const redis = settings.REDIS_URL
    ? createRedis(runtime, { url: settings.REDIS_URL, keyPrefix: settings.REDIS_KEY_PREFIX })
    : undefined;
  const cache = createCatalogCache(runtime, redis, {
    animeTtlSeconds: settings.CACHE_TTL_SECONDS,
    listTtlSeconds: settings.LIST_CACHE_TTL_SECONDS,
    // Only the reader keeps answers in process; writers only invalidate.
    localEntries: name === 'catalog' ? settings.LOCAL_CACHE_ENTRIES : 0,
  });
  const authenticate = overrides.authenticate ?? verifierFromSettings(settings).authenticate;
  const sink = settings.K_SINK;
  const send = sink ? createHttpTransport({ runtime, sink }) : undefined;
  const publish = async (events: readonly CloudEventV1<unknown>[]) => {
    if (send) await publishCommitted({ db, send, log: runtime.log }, events);
  };
  return { runtime, db, cache, redis, authenticate, publish };
}
