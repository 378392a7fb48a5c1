import pg from 'pg';
import { migrate } from '../../functions/lib/data/migrate.ts';

export interface ScratchDatabase {
  readonly url: string;
  drop(): Promise<void>;
}

/**
 * A migrated database of its own next to the run's DATABASE_URL, for tests that read tables other test
 * files write concurrently (the outbox relay publishes *every* unpublished row).
 */
export async function createScratchDatabase(runUrl: string, label: string): Promise<ScratchDatabase> {
  const url = new URL(runUrl);
  const name = `${url.pathname.slice(1)}_${label}`.slice(0, 63);
  const admin = new URL(runUrl);
  admin.pathname = '/postgres';
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.href });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`drop database if exists "${name}" with (force)`);
  await run(`create database "${name}"`);
  url.pathname = `/${name}`;
  await migrate(url.href);
  return { url: url.href, drop: () => run(`drop database if exists "${name}" with (force)`) };
}
