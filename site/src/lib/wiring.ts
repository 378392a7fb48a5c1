/**
 * The process's dependencies, built once from the settings on first use: the API client, the OIDC
 * client and the session store. Pages and middleware reach them through `site()`.
 */
import { Redis } from 'ioredis';
import { type Api, createApi } from './api.ts';
import { createOidc, type Oidc } from './oidc.ts';
import { redisStore, type SessionStore } from './session.ts';
import { apiCa, loadSiteSettings, type SiteSettings, sessionRedisUrl } from './settings.ts';

export interface Site {
  readonly settings: SiteSettings;
  readonly api: Api;
  readonly oidc: Oidc;
  readonly sessions: SessionStore;
}

let wired: Site | undefined;
let starting: Promise<Site> | undefined;

/** The wiring, once its settings are loaded (the middleware awaits this before any page runs). */
export function siteReady(): Promise<Site> {
  starting ??= loadSiteSettings().then(wire);
  return starting;
}

/** The wiring (after siteReady, which the middleware awaits on every request). */
export function site(): Site {
  if (!wired) throw new Error('site() before siteReady()');
  return wired;
}

function wire(s: SiteSettings): Site {
  if (wired) return wired;
  const redis = new Redis(sessionRedisUrl(s), { maxRetriesPerRequest: 2, enableOfflineQueue: true });
  redis.on('error', (error: Error) => {
    process.stderr.write(`${JSON.stringify({ level: 'warn', msg: 'redis error', err: error.message })}\n`);
  });
  wired = {
    settings: s,
    api: createApi({ baseUrl: s.API_BASE_URL, ca: apiCa(s) }),
    oidc: createOidc({
      issuer: s.OIDC_ISSUER,
      clientId: s.OIDC_CLIENT_ID,
      clientSecret: s.OIDC_CLIENT_SECRET,
      siteOrigin: s.SITE_ORIGIN,
      allowHttp: s.OIDC_ALLOW_HTTP,
    }),
    sessions: redisStore(redis, s.SESSION_KEY_PREFIX),
  };
  return wired;
}

/** Replace the wiring (tests). */
export function setSite(value: Site | undefined): void {
  wired = value;
}
