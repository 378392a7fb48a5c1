import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import pg from 'pg';
import { importRecords, parseDataset } from '../../functions/catalog/import.ts';
import { migrate } from '../../functions/lib/data/migrate.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import type { HttpHandler } from '../../functions/lib/http/http-function.ts';

const SEED = new URL('../../functions/catalog/seed/anime.json', import.meta.url);

/** Migrate the run's database and import the seed catalogue once (files race here: an advisory lock). */
export async function prepareDatabase(databaseUrl: string): Promise<void> {
  await migrate(databaseUrl);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  const client = await pool.connect();
  try {
    await client.query('select pg_advisory_lock(5005)');
    const { records } = parseDataset(await readFile(SEED, 'utf8'));
    await importRecords(async (work) => {
      await client.query('begin');
      try {
        const result = await work(client);
        await client.query('commit');
        return result;
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
    }, records);
    await client.query('select pg_advisory_unlock(5005)');
  } finally {
    client.release();
    await pool.end();
  }
}

/** Settings for a tracking function in a test: the run's servers, a key prefix of its own. */
export function trackingEnv(env: Record<string, string>, keySuffix: string): Record<string, string> {
  return {
    DATABASE_URL: env.DATABASE_URL ?? '',
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}${keySuffix}:`,
    // The suite's Keycloak: a function built from these settings verifies tokens as in production.
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
}

/** Register a handler under `name` and serve it on the lean host; returns its base URL and a closer. */
export async function serveOnHost(
  name: string,
  handler: HttpHandler,
): Promise<{ url: string; close: () => Promise<void> }> {
  http(name, handler);
  return listen(createHostServer({ target: name }));
}

export async function listen(server: Server): Promise<{ url: string; close: () => Promise<void> }> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The id of a seed anime by its MAL id. */
export async function animeIdByMal(databaseUrl: string, malId: number): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query('select id from anime where mal_id = $1', [malId]);
    if (!rows[0]) throw new Error(`no seed anime with MAL id ${malId}`);
    return rows[0].id;
  } finally {
    await client.end();
  }
}

let ownSerial = 0;
/**
 * A catalogue anime of the calling test's own (with its aggregate row), so that no other test or file
 * moves its counts: returns its id. `episodes` null means an unknown count.
 */
export async function ownAnime(
  databaseUrl: string,
  label: string,
  episodes: number | null = 12,
): Promise<number> {
  ownSerial += 1;
  const title = `${label} ${process.pid}-${Date.now().toString(36)}-${ownSerial}`;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ id: number }>(
      `insert into anime (sources, content_hash, title, type, episodes, status, search_text, search_vector)
       values ('{}', 'test', $1, 'tv', $2, 'finished', lower($1), to_tsvector('simple', $1)) returning id`,
      [title, episodes],
    );
    const id = rows[0]?.id;
    if (id === undefined) throw new Error('no anime inserted');
    await client.query('insert into anime_stats (anime_id) values ($1)', [id]);
    return id;
  } finally {
    await client.end();
  }
}
