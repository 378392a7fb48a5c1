/**
 * Import an anime catalogue file into PostgreSQL:
 *   node scripts/import-catalog.ts [--file functions/catalog/seed/anime.json] [--migrate]
 * Reads anime-offline-database JSON (plain, or our seed's extended shape); idempotent (run it again and
 * every record is `unchanged`). DATABASE_URL names the database; with REDIS_URL (+ REDIS_KEY_PREFIX)
 * the cached objects of changed anime and every cached list are dropped afterwards.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { importRecords, parseDataset } from '../functions/catalog/import.ts';
import { migrate } from '../functions/lib/data/migrate.ts';
import { inTransaction } from '../functions/lib/data/postgres.ts';

const { values } = parseArgs({
  options: {
    file: {
      type: 'string',
      default: fileURLToPath(new URL('../functions/catalog/seed/anime.json', import.meta.url)),
    },
    migrate: { type: 'boolean', default: false },
    'batch-size': { type: 'string', default: '500' },
  },
});
const databaseUrl = process.env.DATABASE_URL;
if (!databaseUrl) {
  process.stderr.write('DATABASE_URL is required\n');
  process.exit(64);
}
const say = (line: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(line)}\n`);

if (values.migrate) say({ msg: 'migrated', applied: await migrate(databaseUrl) });
const started = performance.now();
const { records, rejected } = parseDataset(await readFile(values.file, 'utf8'));
for (const r of rejected) say({ msg: 'rejected', ...r });
say({ msg: 'read', file: values.file, records: records.length, rejected: rejected.length });

const pool = new pg.Pool({ connectionString: databaseUrl, max: 2 });
const transaction = <T>(work: (client: pg.PoolClient) => Promise<T>) => inTransaction(pool, work);
try {
  const result = await importRecords(transaction, records, {
    batchSize: Number(values['batch-size']),
    onProgress: (p) =>
      say({ msg: 'progress', ...p, percent: Math.round((p.done / Math.max(1, p.total)) * 100) }),
  });
  if (process.env.REDIS_URL && result.changedIds.length > 0) {
    const redis = new Redis(process.env.REDIS_URL, { keyPrefix: process.env.REDIS_KEY_PREFIX ?? 'isekai:' });
    const multi = redis.multi();
    for (const id of result.changedIds) multi.del(`catalog:anime:${id}`).incr(`catalog:anime-gen:${id}`);
    await multi.incr('catalog:ver').exec();
    redis.disconnect();
  }
  const { changedIds: _ids, ...counts } = result;
  say({ msg: 'done', ...counts, rejected: rejected.length, ms: Math.round(performance.now() - started) });
} finally {
  await pool.end();
}
