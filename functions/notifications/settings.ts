import type { ServerResponse } from 'node:http';
import { verifierFromSettings } from '../lib/auth/token-verifier.ts';
import { loadConfig, Type } from '../lib/config.ts';
import { createMongo } from '../lib/data/mongo.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute, Authenticator } from '../lib/http/types.ts';
import { createInbox } from '../lib/inbox/inbox.ts';
import { createPreferencesStore, type PreferencesStore } from '../lib/inbox/preferences.ts';
import { createRuntime, type Runtime } from '../lib/runtime.ts';
import { createLiveHub } from './live.ts';
import { inboxRoutes, preferencesRoutes } from './routes.ts';
import { type StreamOptions, streamRoute } from './stream.ts';

export const NotificationsSettings = Type.Object({
  /** Vault provides it in the cluster (required there); the local default keeps `npm start` running without one. */
  MONGO_URL: Type.String({ pattern: '^mongodb(\\+srv)?://', default: 'mongodb://127.0.0.1:27017' }),
  /** Database of the inboxes (collection `notifications`, written by notify). */
  MONGO_DATABASE: Type.String({ minLength: 1, maxLength: 63, default: 'isekai' }),
  /** As MONGO_URL: from Vault (shared `redis`) in the cluster, the local server by default. */
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  /** Prefix of the live channels `<prefix>notifications:<inbox>` (as notify publishes them). */
  REDIS_KEY_PREFIX: Type.String({ default: 'isekai:' }),
  OIDC_ISSUER: Type.String({ format: 'uri' }),
  OIDC_AUDIENCE: Type.String({ minLength: 1, default: 'isekai-api' }),
  OIDC_JWKS_URL: Type.Optional(Type.String({ format: 'uri' })),
  /** A `: heartbeat` comment on every open stream this often. */
  SSE_HEARTBEAT_MS: Type.Integer({ minimum: 100, maximum: 60_000, default: 15_000 }),
  /** At most this many missed notifications replayed when a stream resumes (Last-Event-ID). */
  SSE_REPLAY_LIMIT: Type.Integer({ minimum: 1, maximum: 1000, default: 200 }),
  /** HMAC-SHA256 key of the unsubscribe links (Vault's shared `mail` secret; notify and notifications share it). */
  UNSUBSCRIBE_KEY: Type.String({ minLength: 32, default: 'dev-only-unsubscribe-key-change-me-0000' }),
});

export interface NotificationsOverrides {
  readonly authenticate?: Authenticator;
}

/** Wire notifications from the environment (once, at start-up); fails fast naming a bad setting. */
export function wireNotifications(
  env: NodeJS.ProcessEnv = process.env,
  overrides: NotificationsOverrides = {},
): { runtime: Runtime; handler: HttpHandler } {
  const settings = loadConfig(NotificationsSettings, env);
  const runtime = createRuntime('notifications', { env });
  const mongo = createMongo(runtime, settings.MONGO_URL);
  const inbox = createInbox(mongo.db(settings.MONGO_DATABASE));
  const preferences = createPreferencesStore(mongo.db(settings.MONGO_DATABASE));
  const hub = createLiveHub(runtime, { url: settings.REDIS_URL, keyPrefix: settings.REDIS_KEY_PREFIX });
  const open = new Set<ServerResponse>();
  runtime.onShutdown(() => {
    for (const res of open) res.end();
  });
  const authenticate = overrides.authenticate ?? verifierFromSettings(settings).authenticate;
  const routes = notificationRoutes({
    inbox,
    hub,
    heartbeatMs: settings.SSE_HEARTBEAT_MS,
    replayLimit: settings.SSE_REPLAY_LIMIT,
    open,
    preferences,
    unsubscribeKey: settings.UNSUBSCRIBE_KEY,
  });
  return { runtime, handler: createHttpFunction({ runtime, routes, authenticate }) };
}

/** Every notifications route (the whole of `NotificationsApi`): the live stream, the inbox, the preferences. */
export function notificationRoutes(
  options: StreamOptions & { preferences: PreferencesStore; unsubscribeKey: string },
): AnyRoute[] {
  return [
    streamRoute(options),
    ...inboxRoutes(options.inbox),
    ...preferencesRoutes(options.preferences, options.unsubscribeKey),
  ];
}

/** Settings schemas notifications parses at start-up (with BaseSettings). */
export const settings = [NotificationsSettings] as const;
/**
 * Settings Vault provides in the cluster (they carry credentials): MONGO_URL from
 * kv/data/isekai/notifications/config, REDIS_URL from kv/data/isekai/shared/redis, UNSUBSCRIBE_KEY from
 * kv/data/isekai/shared/mail. Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['MONGO_URL', 'REDIS_URL', 'UNSUBSCRIBE_KEY'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['redis', 'mail'];
