import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * PostgreSQL for the local stack without a server: PGlite (PostgreSQL compiled to WASM) behind
 * pglite-socket, so functions connect with the ordinary `pg` driver. One engine, queries from up to
 * `maxConnections` clients are queued onto it. Data persists in `dataDir` between runs.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number) {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir, extensions: { pg_trgm, unaccent } });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 64 });
  await server.start();
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres?sslmode=disable`,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}
