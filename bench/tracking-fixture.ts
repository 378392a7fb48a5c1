/**
 * Shared set-up for the catalog, search and rating benchmarks: a throwaway database (migrated, seed imported),
 * a local JWKS the real token verifier fetches, and the functions started on the lean host from their
 * own index.ts — the way they run in production.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';
import { importRecords, parseDataset } from '../functions/catalog/import.ts';
import { migrate } from '../functions/lib/data/migrate.ts';
import { inTransaction } from '../functions/lib/data/postgres.ts';
import { freePort, type Started, startServer } from './lib.ts';

export const root = new URL('..', import.meta.url).pathname;
const ADMIN = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ISSUER = 'http://bench.local/realms/isekai';

export interface Fixture {
  readonly databaseUrl: string;
  readonly env: Record<string, string>;
  /** A bearer token for `sub` with realm `roles` (default viewer). */
  token(sub: string, roles?: readonly string[]): Promise<string>;
  start(fn: 'catalog' | 'rate-anime' | 'library', cpu?: number): Promise<Started>;
  close(): Promise<void>;
}

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createFixture(): Promise<Fixture> {
  const name = `isekai_bench_${Date.now().toString(36)}`;
  await admin(`create database ${name}`);
  const url = new URL(ADMIN);
  url.pathname = `/${name}`;
  const databaseUrl = url.href;
  await migrate(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const { records } = parseDataset(await readFile(join(root, 'functions/catalog/seed/anime.json'), 'utf8'));
  await importRecords((work) => inTransaction(pool, work), records);
  await pool.end();

  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwks = JSON.stringify({
    keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' }],
  });
  const jwksPort = await freePort();
  const jwksServer: Server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
  );
  await new Promise<void>((resolve) => jwksServer.listen(jwksPort, '127.0.0.1', resolve));
  const env = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `isekai:bench:${name}:`,
    OIDC_ISSUER: ISSUER,
    OIDC_JWKS_URL: `http://127.0.0.1:${jwksPort}/certs`,
    PG_POOL_MAX: '10',
  };
  const started: Started[] = [];
  return {
    databaseUrl,
    env,
    token: (sub, roles = ['viewer']) =>
      new SignJWT({ preferred_username: sub, typ: 'Bearer', realm_access: { roles: [...roles] } })
        .setProtectedHeader({ alg: 'RS256', kid: 'bench' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience('isekai-api')
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey),
    async start(fn, cpu = 0) {
      const server = await startServer(
        [
          process.execPath,
          join(root, 'functions/lib/host/main.ts'),
          '--source',
          join(root, `functions/${fn}/index.ts`),
          '--target',
          fn,
        ],
        env,
        { cpu, readyPath: '/healthz' },
      );
      started.push(server);
      return server;
    },
    async close() {
      await Promise.all(started.map((s) => s.stop()));
      jwksServer.close();
      await admin(`drop database if exists ${name} with (force)`);
      // The run's cache keys go with its database.
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { lazyConnect: true });
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `isekai:bench:${name}:*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
    },
  };
}
