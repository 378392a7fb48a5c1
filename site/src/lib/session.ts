/**
 * Server-side sessions: an opaque random id in an HttpOnly `__Host-` cookie, the data (tokens included)
 * in Redis under a TTL. Tokens never reach the browser. Ids are rotated at sign-in (no fixation).
 */
import { randomBytes } from 'node:crypto';

/** What a session holds. */
export interface SessionData {
  /** Per-session CSRF token, sent back in every state-changing form. */
  csrf: string;
  /**
   * The signed-in viewer: `name` is the ID token's `name` claim (else the account name); `displayName` the
   * profile's display name (library `GET /me`), read at sign-in and kept when the settings page saves it —
   * the header shows it first.
   */
  user?: { sub: string; username: string; name: string; displayName?: string; roles: string[] };
  /** When the viewer signed in (ms since the epoch): sessions older than a "sign out everywhere" end. */
  signedInAt?: number;
  tokens?: { access: string; refresh?: string | undefined; idToken?: string | undefined; expiresAt: number };
  /** A sign-in under way (authorization code + PKCE), until the callback. */
  pending?: { verifier: string; state: string; nonce: string; returnTo: string; createdAt: number };
  /** One message for the next page (after a 303). */
  flash?: { kind: 'ok' | 'error'; text: string };
}

/** Where session data lives (Redis in production; memory in unit tests). */
export interface SessionStore {
  get(id: string): Promise<SessionData | undefined>;
  set(id: string, data: SessionData, ttlSeconds: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** "Sign out everywhere": every session of `sub` signed in before `at` (ms) ends, for `ttlSeconds`. */
  revokeBefore(sub: string, at: number, ttlSeconds: number): Promise<void>;
  /** The time before which `sub`'s sessions are ended (0 when none). */
  revokedBefore(sub: string): Promise<number>;
}

/** Minimal Redis surface the store uses (ioredis satisfies it). */
export interface RedisLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, mode: 'EX', seconds: number): Promise<unknown>;
  del(key: string): Promise<unknown>;
}

export function redisStore(redis: RedisLike, prefix: string): SessionStore {
  return {
    async get(id) {
      const text = await redis.get(prefix + id);
      return text === null ? undefined : (JSON.parse(text) as SessionData);
    },
    async set(id, data, ttl) {
      await redis.set(prefix + id, JSON.stringify(data), 'EX', ttl);
    },
    async delete(id) {
      await redis.del(prefix + id);
    },
    async revokeBefore(sub, at, ttl) {
      await redis.set(`${prefix}revoked:${sub}`, String(at), 'EX', ttl);
    },
    async revokedBefore(sub) {
      return Number((await redis.get(`${prefix}revoked:${sub}`)) ?? 0);
    },
  };
}

export function memoryStore(now: () => number = Date.now): SessionStore & { size(): number } {
  const map = new Map<string, { data: string; until: number }>();
  const revoked = new Map<string, { at: number; until: number }>();
  return {
    async get(id) {
      const hit = map.get(id);
      if (!hit || hit.until <= now()) return undefined;
      return JSON.parse(hit.data) as SessionData;
    },
    async set(id, data, ttl) {
      map.set(id, { data: JSON.stringify(data), until: now() + ttl * 1000 });
    },
    async delete(id) {
      map.delete(id);
    },
    async revokeBefore(sub, at, ttl) {
      revoked.set(sub, { at, until: now() + ttl * 1000 });
    },
    async revokedBefore(sub) {
      const hit = revoked.get(sub);
      return hit && hit.until > now() ? hit.at : 0;
    },
    size: () => map.size,
  };
}

/**
 * TTL of a session that only holds a sign-in under way (no user yet): every anonymous visit to
 * /auth/login makes one, so it must not live for the full session TTL. The callback (which rotates the
 * session and adds the user) gives it the full TTL; a sign-in left longer than this starts over.
 */
export const PENDING_SIGN_IN_TTL_SECONDS = 600;

/** A fresh random id or token: 32 bytes, base64url. */
export const randomToken = () => randomBytes(32).toString('base64url');
const ID = /^[A-Za-z0-9_-]{43}$/;

/** One request's session: loaded lazily from the cookie, saved once at the end if it changed. */
export class Session {
  #id: string | undefined;
  #data: SessionData | undefined;
  #dirty = false;
  #destroyed: string | undefined;
  #rotated: string | undefined;

  constructor(
    private readonly store: SessionStore,
    private readonly ttl: number,
    cookieId: string | undefined,
    loaded: SessionData | undefined,
  ) {
    if (loaded && cookieId) {
      this.#id = cookieId;
      this.#data = loaded;
    }
  }

  /** Load the session named by a cookie value (unknown, malformed or expired ids give an empty session). */
  static async load(store: SessionStore, ttl: number, cookieId: string | undefined): Promise<Session> {
    const valid = cookieId !== undefined && ID.test(cookieId);
    const data = valid ? await store.get(cookieId) : undefined;
    return new Session(store, ttl, valid ? cookieId : undefined, data);
  }

  get exists(): boolean {
    return this.#data !== undefined;
  }
  get id(): string | undefined {
    return this.#id;
  }
  /** The data, or undefined when there is no session (anonymous visitors get none until needed). */
  get data(): Readonly<SessionData> | undefined {
    return this.#data;
  }

  /** The data, creating the session (with its CSRF token) if needed. */
  ensure(): SessionData {
    if (!this.#data) {
      this.#data = { csrf: randomToken() };
      this.#id = randomToken();
      this.#dirty = true;
    }
    return this.#data;
  }

  update(change: (data: SessionData) => void): void {
    change(this.ensure());
    this.#dirty = true;
  }

  /** New id, same data (at sign-in: an id known before signing in is worthless after). */
  rotate(): void {
    this.ensure();
    if (this.#id && !this.#rotated) this.#rotated = this.#id;
    this.#id = randomToken();
    if (this.#data) this.#data.csrf = randomToken();
    this.#dirty = true;
  }

  destroy(): void {
    if (this.#id) this.#destroyed = this.#id;
    this.#id = undefined;
    this.#data = undefined;
    this.#dirty = false;
  }

  /** Persist changes; returns the cookie action the response needs. */
  async commit(): Promise<{ set: string } | { clear: true } | undefined> {
    const old = this.#destroyed ?? this.#rotated;
    if (old) await this.store.delete(old);
    if (this.#data && this.#id && this.#dirty) {
      const pendingOnly = this.#data.pending !== undefined && this.#data.user === undefined;
      await this.store.set(
        this.#id,
        this.#data,
        pendingOnly ? Math.min(this.ttl, PENDING_SIGN_IN_TTL_SECONDS) : this.ttl,
      );
      this.#dirty = false;
      return { set: this.#id };
    }
    if (this.#destroyed && !this.#data) return { clear: true };
    return undefined;
  }
}

/** The Set-Cookie value for the session cookie (`__Host-` rules: Secure, Path=/, no Domain). */
export function sessionCookie(name: string, id: string | undefined, maxAge?: number): string {
  const parts = [`${name}=${id ?? ''}`, 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax'];
  if (id === undefined) parts.push('Max-Age=0');
  else if (maxAge !== undefined) parts.push(`Max-Age=${maxAge}`);
  return parts.join('; ');
}

/** A cookie's value from a Cookie header. */
export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
