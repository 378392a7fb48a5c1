import { fileURLToPath } from 'node:url';
import { ConstantBackoff, handleWhen, retry } from 'cockatiel';
import { runner } from 'node-pg-migrate';

/** Isekai's SQL migrations (node-pg-migrate format: `-- Up Migration` / `-- Down Migration`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../db/migrations', import.meta.url));

/**
 * The folder migrations are read from: `MIGRATIONS_DIR` from the environment when set (a bundle, e.g.
 * dist/schema-migrate/index.mjs in the schema-migrate image, ships the SQL files beside itself, where the
 * source-relative path above does not exist), the source tree's otherwise. Read per call, not at load.
 */
export function migrationsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.MIGRATIONS_DIR || MIGRATIONS_DIR;
}

/**
 * Bring the database schema up to date; safe to run concurrently (node-pg-migrate takes an advisory lock)
 * and repeatedly. Returns the names of the migrations it applied.
 */
export async function migrate(databaseUrl: string, log?: (msg: string) => void): Promise<string[]> {
  return LOCK_WAIT.execute(() => migrateOnce(databaseUrl, log));
}

/**
 * node-pg-migrate refuses (rather than waits) while another process holds its advisory lock: try again
 * every 100 ms for about a minute; any other error is thrown at once.
 */
const LOCK_WAIT = retry(
  handleWhen((error) => /Another migration is already running/.test(String(error))),
  { maxAttempts: 600, backoff: new ConstantBackoff(100) },
);

async function migrateOnce(databaseUrl: string, log?: (msg: string) => void): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: migrationsDir(),
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    log: log ?? (() => undefined),
    verbose: false,
  });
  return applied.map((m) => m.name);
}
