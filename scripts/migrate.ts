/**
 * schema-migrate: bring the PostgreSQL schema up to date, then exit. Run once per release as the Kubernetes
 * Job `schema-migrate` (knative/base/250-schema-migrate.yaml) before the new functions roll out: the
 * functions never migrate, they assume the schema is current.
 *   DATABASE_URL=postgres://… node scripts/migrate.ts
 *   MIGRATIONS_DIR=dist/schema-migrate/migrations DATABASE_URL=… node dist/schema-migrate/index.mjs
 * DATABASE_URL comes from Vault in the cluster (`kv/data/isekai/schema-migrate/config`, role schema-migrate:
 * the schema owner's credentials) or from the environment locally (functions/lib/secrets.ts).
 * Output: one JSON line per applied migration, then a summary; exit 0 (also when nothing was pending).
 * Failure: one JSON line with the error code; exit 78 for bad configuration, 1 otherwise (the Job retries).
 */
import { migrate, migrationsDir } from '../functions/lib/data/migrate.ts';
import { ConfigInvalid } from '../functions/lib/errors.ts';
import { exitOnStartupError } from '../functions/lib/host/run.ts';
import { loadFunctionEnv } from '../functions/lib/secrets.ts';

const NAME = 'schema-migrate';
const line = (fields: Record<string, unknown>) => `${JSON.stringify({ job: NAME, ...fields })}\n`;

/** DATABASE_URL from Vault (cluster) or the environment (locally); config_invalid naming it when absent. */
async function databaseUrl(signal: AbortSignal): Promise<string> {
  const env = await loadFunctionEnv(NAME, { required: ['DATABASE_URL'], signal });
  // loadFunctionEnv checks `required` against Vault only; without VAULT_ADDR the environment is taken as is.
  const url = env.DATABASE_URL;
  if (!url) {
    throw new ConfigInvalid('missing setting: DATABASE_URL', {
      issues: [{ field: 'DATABASE_URL', message: 'is required' }],
    });
  }
  return url;
}

async function main(): Promise<void> {
  const renewal = new AbortController();
  let url: string;
  try {
    url = await databaseUrl(renewal.signal);
  } catch (error) {
    exitOnStartupError(error);
  }
  const started = performance.now();
  try {
    const applied = await migrate(url);
    for (const name of applied)
      process.stdout.write(line({ level: 'info', msg: 'applied', migration: name }));
    process.stdout.write(
      line({
        level: 'info',
        msg: 'schema up to date',
        applied: applied.length,
        dir: migrationsDir(),
        ms: Math.round(performance.now() - started),
      }),
    );
  } catch (error) {
    // pg's SQLSTATE (e.g. 42P01) or the socket's errno name (ECONNREFUSED); never the URL itself.
    const cause = (error as { code?: unknown } | null)?.code;
    process.stderr.write(
      line({
        level: 'fatal',
        code: 'internal',
        cause: typeof cause === 'string' ? cause : undefined,
        msg: `migration failed: ${error instanceof Error ? error.message : String(error)}`,
      }),
    );
    process.exit(1);
  } finally {
    renewal.abort();
  }
  process.exit(0);
}

await main();
