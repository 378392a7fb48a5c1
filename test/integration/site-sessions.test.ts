import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';

/**
 * Where the site keeps its sessions, against real Redis servers:
 * - the site's own start-up (site/src/lib/wiring.ts: settings from the environment, then the store) writes
 *   sessions to SESSION_REDIS_URL when it is set, and to REDIS_URL when it is not (development, `npm start`);
 * - the sessions' server as the cluster runs it (the redis.conf of knative/base/600-redis-sessions.yaml, in a
 *   redis-server of this machine on a socket of our own): full, it refuses new sessions and drops none, and a
 *   restart keeps them (AOF); the cache Redis' redis.conf (600-redis.yaml, allkeys-lru) drops them instead.
 */
const env = inject('env');
const root = new URL('../..', import.meta.url).pathname;

/** What these tests use of the site's modules (site/ is type-checked by its own tsconfig: check-site.ts). */
interface SessionStore {
  get(id: string): Promise<unknown>;
  set(id: string, data: unknown, ttlSeconds: number): Promise<void>;
}
interface SiteModule {
  siteReady(): Promise<{ settings: { SESSION_REDIS_URL?: string }; sessions: SessionStore }>;
}
/** A site module by path (imported by URL: the root tsconfig does not compile site/). */
const siteModule = <T>(file: string): Promise<T> =>
  import(new URL(`../../site/src/lib/${file}`, import.meta.url).href) as Promise<T>;
const { redisStore } = await siteModule<{ redisStore(redis: Redis, prefix: string): SessionStore }>(
  'session.ts',
);
const run = `${env.REDIS_KEY_PREFIX ?? 'isekai:test:'}site-sessions:${process.pid}:`;
const clients: Redis[] = [];
const client = (url: string) => {
  const c = new Redis(url, { maxRetriesPerRequest: 1 });
  clients.push(c);
  return c;
};
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => undefined)));
});

/** A signed-in session as site/src/lib/session.ts stores it (tokens of realistic size). */
const session = (n: number) => ({
  csrf: `csrf-${n}`,
  user: { sub: `sub-${n}`, username: `viewer${n}`, name: `Viewer ${n}`, roles: ['viewer'] },
  tokens: { access: 'a'.repeat(1200), refresh: 'r'.repeat(800), idToken: 'i'.repeat(900), expiresAt: n },
});

describe('the site stores sessions at SESSION_REDIS_URL, else at REDIS_URL', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  /** A fresh copy of the site's wiring, started from the environment given (as the server starts). */
  async function startSite(settings: Record<string, string | undefined>) {
    vi.resetModules();
    for (const [k, v] of Object.entries({
      VAULT_ADDR: undefined,
      OIDC_ISSUER: 'https://auth.isekai.localhost/realms/isekai',
      OIDC_CLIENT_SECRET: 'test-only-secret',
      ...settings,
    }))
      vi.stubEnv(k, v);
    const wiring = await siteModule<SiteModule>('wiring.ts');
    return wiring.siteReady();
  }

  it('with SESSION_REDIS_URL: the session is in that Redis, REDIS_URL (nothing listening) never used', async () => {
    const prefix = `${run}own:`;
    const site = await startSite({
      SESSION_REDIS_URL: env.REDIS_URL,
      REDIS_URL: 'redis://127.0.0.1:1',
      SESSION_KEY_PREFIX: prefix,
    });
    expect(site.settings.SESSION_REDIS_URL).toBe(env.REDIS_URL);
    await site.sessions.set('s1', session(1), 60);
    const direct = client(env.REDIS_URL ?? '');
    expect(JSON.parse((await direct.get(`${prefix}s1`)) ?? 'null')).toEqual(session(1));
    expect(await site.sessions.get('s1')).toEqual(session(1));
    await direct.del(`${prefix}s1`);
  });

  it('without SESSION_REDIS_URL (development): the session is in REDIS_URL', async () => {
    const prefix = `${run}fallback:`;
    const site = await startSite({
      SESSION_REDIS_URL: undefined,
      REDIS_URL: env.REDIS_URL,
      SESSION_KEY_PREFIX: prefix,
    });
    expect(site.settings.SESSION_REDIS_URL).toBeUndefined();
    await site.sessions.set('s2', session(2), 60);
    const direct = client(env.REDIS_URL ?? '');
    expect(await direct.ttl(`${prefix}s2`)).toBeGreaterThan(50);
    await direct.del(`${prefix}s2`);
  });

  it('a SESSION_REDIS_URL that is no redis:// URL stops the start, naming it', async () => {
    await expect(startSite({ SESSION_REDIS_URL: 'http://redis-sessions:6379' })).rejects.toMatchObject({
      code: 'config_invalid',
      issues: [expect.objectContaining({ field: 'SESSION_REDIS_URL' })],
    });
  });
});

/** The redis.conf of a ConfigMap in knative/base, made runnable here (own socket and folder, small maxmemory). */
async function configOf(file: string, configMap: string, dir: string): Promise<string> {
  const docs = parseAllDocuments(await readFile(join(root, 'knative/base', file), 'utf8')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string }; data?: Record<string, string> },
  );
  const conf = docs.find((d) => d.kind === 'ConfigMap' && d.metadata.name === configMap)?.data?.[
    'redis.conf'
  ];
  if (!conf) throw new Error(`no redis.conf in ${file} ConfigMap ${configMap}`);
  const auth = join(dir, 'auth.conf');
  await writeFile(auth, 'requirepass test-only-password\n');
  return conf
    .replace(/^maxmemory .*$/m, 'maxmemory 3mb')
    .replace(/^dir .*$/m, `dir ${dir}`)
    .replace(/^include .*$/m, `include ${auth}`)
    .concat(`port 0\nunixsocket ${join(dir, 'redis.sock')}\nunixsocketperm 700\n`);
}

/** redis-server on `conf`, resolved once it accepts commands on its socket. */
async function startRedis(dir: string, conf: string): Promise<{ server: ChildProcess; redis: Redis }> {
  await writeFile(join(dir, 'redis.conf'), conf);
  const server = spawn('redis-server', [join(dir, 'redis.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  server.stdout?.on('data', (b: Buffer) => {
    log += b.toString();
  });
  const deadline = Date.now() + 10_000;
  // 7.0: "ready to accept connections at <socket>"; 7.4: "Ready to accept connections unix".
  while (!/ready to accept connections/i.test(log)) {
    if (server.exitCode !== null || Date.now() > deadline)
      throw new Error(`redis-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const redis = new Redis({
    path: join(dir, 'redis.sock'),
    password: 'test-only-password',
    maxRetriesPerRequest: 0,
  });
  clients.push(redis);
  return { server, redis };
}

async function stop(server: ChildProcess): Promise<void> {
  if (server.exitCode !== null) return;
  const exited = once(server, 'exit');
  server.kill('SIGTERM');
  await exited;
}

/** Writes sessions until one is refused (or `limit`); the ids written and the refusal. */
async function fill(redis: Redis, limit: number): Promise<{ written: number; refused?: Error }> {
  const store = redisStore(redis, 'isekai:site:session:');
  for (let n = 0; n < limit; n++) {
    try {
      await store.set(`id-${n}`, session(n), 36_000);
    } catch (error) {
      return { written: n, refused: error as Error };
    }
  }
  return { written: limit };
}

describe('the sessions’ Redis as configured in the cluster (600-redis-sessions.yaml)', () => {
  let dir: string;
  const servers: ChildProcess[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'isekai-redis-sessions-'));
  });
  afterAll(async () => {
    await Promise.all(servers.map(stop));
    await rm(dir, { recursive: true, force: true });
  });

  it('full: refuses the next session (OOM) and keeps every one it holds; a restart keeps them too', async () => {
    const data = await mkdtemp(join(dir, 'sessions-'));
    const conf = await configOf('600-redis-sessions.yaml', 'redis-sessions-config', data);
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^appendonly yes$/m);
    const first = await startRedis(data, conf);
    servers.push(first.server);
    const { written, refused } = await fill(first.redis, 20_000);
    expect(refused?.message).toMatch(/^OOM /);
    expect(written).toBeGreaterThan(100);
    expect(await first.redis.dbsize()).toBe(written);
    // Signed-in viewers keep reading their sessions while new writes are refused.
    const store = redisStore(first.redis, 'isekai:site:session:');
    expect(await store.get('id-0')).toEqual(session(0));
    await first.redis.quit();
    await stop(first.server);

    const again = await startRedis(data, conf);
    servers.push(again.server);
    expect(await again.redis.dbsize()).toBe(written);
    expect(await redisStore(again.redis, 'isekai:site:session:').get(`id-${written - 1}`)).toEqual(
      session(written - 1),
    );
  }, 60_000);

  it('the cache Redis’ configuration (allkeys-lru) would drop sessions under the same pressure', async () => {
    const data = await mkdtemp(join(dir, 'cache-'));
    const conf = await configOf('600-redis.yaml', 'redis-config', data);
    expect(conf).toMatch(/^maxmemory-policy allkeys-lru$/m);
    const { server, redis } = await startRedis(data, conf);
    servers.push(server);
    const { written, refused } = await fill(redis, 3_000);
    expect(refused).toBeUndefined();
    expect(written).toBe(3_000);
    expect(await redis.dbsize()).toBeLessThan(written);
  }, 60_000);
});
