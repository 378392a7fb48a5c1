import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../functions/lib/data/migrate.ts';
import { NotFound } from '../../functions/lib/errors.ts';
import { submitRating } from '../../functions/lib/tracking/ratings.ts';
import { freePort } from '../servers/harness.ts';
import { startEmbeddedPostgres } from './embedded-postgres.ts';

/**
 * `npm start`'s PostgreSQL when DATABASE_URL is not set: PGlite behind pglite-socket, which queues every
 * client connection onto ONE PostgreSQL session. Statements that assume a session per connection break
 * there: a named prepared statement made by one pooled connection exists for all of them, and the next
 * connection's Parse fails "prepared statement … already exists" (42P05) — every rating write on a second
 * connection was a 500 in a newcomer's `npm start` (30 Nov). The rating path runs here on several
 * connections at once.
 */
let dir = '';
let stop: (() => Promise<void>) | undefined;
let pool: pg.Pool;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'isekai-pglite-'));
  const embedded = await startEmbeddedPostgres(dir, await freePort());
  stop = embedded.stop;
  await migrate(embedded.url);
  pool = new pg.Pool({ connectionString: embedded.url, max: 4 });
}, 120_000);

afterAll(async () => {
  await pool?.end();
  await stop?.();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the rating write on the embedded PostgreSQL (one session shared by every connection)', () => {
  it('answers NotFound for an unknown anime on every pooled connection, not a database error', async () => {
    const identity = { sub: 'pglite-user', username: 'pglite-user', roles: ['viewer'], exp: 4_102_444_800 };
    const clients = await Promise.all(Array.from({ length: 4 }, () => pool.connect()));
    try {
      const outcomes = await Promise.all(
        clients.map((client) =>
          submitRating(client, identity, 99_999_999, { score: 7 }).then(
            () => 'written',
            (error: unknown) => (error instanceof NotFound ? 'not found' : String(error)),
          ),
        ),
      );
      expect(outcomes).toEqual(['not found', 'not found', 'not found', 'not found']);
    } finally {
      for (const client of clients) client.release();
    }
  }, 60_000);
});
