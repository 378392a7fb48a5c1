import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { inTransaction } from '../../functions/lib/data/postgres.ts';

/**
 * A transaction whose caller already gave up (the guard's timeout fired and answered 503 "nothing written")
 * must roll back, not commit when its work finishes later.
 */
const env = inject('env');
const table = `tx_abort_${process.pid}`;
let pool: pg.Pool;

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: 2 });
  await pool.query(`create table ${table} (n int)`);
});
afterAll(async () => {
  await pool?.query(`drop table if exists ${table}`);
  await pool?.end();
});

describe('inTransaction', () => {
  it('rolls back when the signal was aborted while the work ran', async () => {
    const controller = new AbortController();
    const run = inTransaction(
      pool,
      async (client) => {
        await client.query(`insert into ${table} values (1)`);
        controller.abort(new Error('the caller timed out'));
        await client.query(`insert into ${table} values (2)`);
        return 'done';
      },
      controller.signal,
    );
    await expect(run).rejects.toThrow('the caller timed out');
    expect((await pool.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(0);
  });

  it('commits when the signal is not aborted', async () => {
    const controller = new AbortController();
    await inTransaction(pool, (client) => client.query(`insert into ${table} values (3)`), controller.signal);
    expect((await pool.query(`select count(*)::int as n from ${table}`)).rows[0].n).toBe(1);
  });
});
