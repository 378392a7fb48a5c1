import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';

/** Isekai's SQL migrations (node-pg-migrate format: `-- Up Migration` / `-- Down Migration`). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('../db/migrations', import.meta.url));

/**
 * Bring the database schema up to date; safe to run concurrently (node-pg-migrate takes an advisory lock)
 * and repeatedly. Returns the names of the migrations it applied.
 */
export async function migrate(databaseUrl: string, log?: (msg: string) => void): Promise<string[]> {
  // node-pg-migrate refuses (rather than waits) while another process holds its advisory lock: wait.
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      return await migrateOnce(databaseUrl, log);
    } catch (error) {
      if (!/Another migration is already running/.test(String(error)) || Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function migrateOnce(databaseUrl: string, log?: (msg: string) => void): Promise<string[]> {
  const applied = await runner({
    databaseUrl,
    dir: MIGRATIONS_DIR,
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    log: log ?? (() => undefined),
    verbose: false,
  });
  return applied.map((m) => m.name);
}
