/**
 * The site's settings, read from the environment once at start-up (functions/lib/config.ts: defaults
 * applied, every bad or missing setting named). Secrets (the OIDC client secret) come from the environment
 * locally and from Vault in the cluster, like the functions'.
 */
import { readFileSync } from 'node:fs';
import type { Static } from 'typebox';
import { loadConfig, Type } from '../../../functions/lib/config.ts';
import { loadFunctionEnv } from '../../../functions/lib/secrets.ts';

export const SiteSettings = Type.Object({
  /** Address the server listens on (read by @astrojs/node standalone itself; PORT comes from BaseSettings). */
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  /** The site's public origin as browsers see it (OIDC redirect URIs and absolute links are built from it). */
  SITE_ORIGIN: Type.String({ format: 'uri', default: 'https://isekai.localhost' }),
  /** The API through the edge, like any client: https://api.isekai.dev. */
  API_BASE_URL: Type.String({ format: 'uri', default: 'https://api.isekai.localhost' }),
  /** PEM file of a CA to trust for API_BASE_URL (the local edge's self-signed certificate). */
  API_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  OIDC_ISSUER: Type.String({ format: 'uri' }),
  OIDC_CLIENT_ID: Type.String({ minLength: 1, default: 'isekai-site' }),
  OIDC_CLIENT_SECRET: Type.String({ minLength: 1 }),
  /** Allow an http:// issuer (local stacks only). */
  OIDC_ALLOW_HTTP: Type.Boolean({ default: false }),
  /**
   * The sessions' Redis (redis://[:password@]host:port[/db]). In the cluster its own server, which never
   * evicts (knative/base/600-redis-sessions.yaml; Vault: shared `redis-sessions`). Unset: REDIS_URL.
   */
  SESSION_REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** Development fallback for SESSION_REDIS_URL: the machine's Redis `npm start` shares with the functions. */
  REDIS_URL: Type.String({ default: 'redis://127.0.0.1:6379' }),
  /** Prefix of every session key in Redis. */
  SESSION_KEY_PREFIX: Type.String({ default: 'isekai:site:session:' }),
  /** The session cookie; `__Host-` pins it to this host, Secure, Path=/. */
  SESSION_COOKIE: Type.String({ pattern: '^[A-Za-z0-9_-]+$', default: '__Host-isekai-sid' }),
  /** Idle lifetime of a session (seconds); each request that changes it renews it. */
  SESSION_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: 2_592_000, default: 36_000 }),
});
export type SiteSettings = Static<typeof SiteSettings>;

/** The schemas parsed at start (scripts/manifests checks the Knative Service's env against them). */
export const settings = [SiteSettings] as const;
/**
 * Settings Vault provides in the cluster: kv/data/isekai/site/config and the sessions' Redis secret
 * (kv/data/isekai/shared/redis-sessions, SESSION_REDIS_URL), so the cluster never falls back to REDIS_URL.
 */
export const vaultSettings: readonly string[] = ['OIDC_CLIENT_SECRET', 'SESSION_REDIS_URL'];
export const sharedSecrets: readonly string[] = ['redis-sessions'];

let loaded: Promise<SiteSettings> | undefined;

/**
 * The settings of this process, read once: from the environment locally, plus Vault in the cluster
 * (functions/lib/secrets.ts, role `site`). Rejects with ConfigInvalid naming what is missing or wrong.
 */
export function loadSiteSettings(): Promise<SiteSettings> {
  loaded ??= loadFunctionEnv('site', { shared: sharedSecrets, required: vaultSettings }).then((env) =>
    loadConfig(SiteSettings, env),
  );
  return loaded;
}

/**
 * Where sessions live: SESSION_REDIS_URL, else REDIS_URL (development and `npm start`, where one Redis serves
 * everything; in the cluster Vault always provides SESSION_REDIS_URL).
 * @example sessionRedisUrl({ ...s, SESSION_REDIS_URL: undefined, REDIS_URL: 'redis://127.0.0.1:6379' }) // the REDIS_URL
 */
export function sessionRedisUrl(s: Pick<SiteSettings, 'SESSION_REDIS_URL' | 'REDIS_URL'>): string {
  return s.SESSION_REDIS_URL ?? s.REDIS_URL;
}

/** The CA to trust for the API, when one is configured. */
export function apiCa(s: SiteSettings): string | undefined {
  return s.API_CA_FILE ? readFileSync(s.API_CA_FILE, 'utf8') : undefined;
}
