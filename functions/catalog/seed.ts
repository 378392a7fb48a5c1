import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { inTransaction } from '../lib/data/postgres.ts';
import { type ImportProgress, importRecords, parseDataset } from './import.ts';

/** The seed catalogue shipped with Isekai (207 well-known anime, facts only). */
export const SEED_FILE = new URL('./seed/anime.json', import.meta.url);

/**
 * Load the seed catalogue into a database (idempotent: unchanged anime stay unchanged). Used by
 * `npm start`; `scripts/import-catalog.ts` is the CLI for any dataset file.
 */
export async function importSeedCatalog(databaseUrl: string): Promise<ImportProgress> {
  const { records } = parseDataset(await readFile(SEED_FILE, 'utf8'));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    const { changedIds: _changed, ...progress } = await importRecords(
      (work) => inTransaction(pool, work),
      records,
    );
    return progress;
  } finally {
    await pool.end();
  }
}
