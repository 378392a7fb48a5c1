import type { CloudEventV1 } from 'cloudevents';
import Type from 'typebox';
import { backupStoreFromEnv } from '../lib/backups/backup-settings.ts';
import type { BackupStore } from '../lib/backups/backups.ts';
import { loadConfig } from '../lib/config.ts';
import { createPostgres, type Postgres } from '../lib/data/postgres.ts';
import { asIsekaiError } from '../lib/errors.ts';
import { createRuntime, type Runtime } from '../lib/runtime.ts';
import { check } from '../lib/validate.ts';

export const Settings = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  PG_POOL_MAX: Type.Integer({ minimum: 1, maximum: 20, default: 2 }),
});

/** The PingSource payload (`spec.data` of the library-backup-weekly PingSource). */
const Tick = Type.Object({
  /** Users backed up per tick at most (the rest wait for the next tick of the same week). */
  maxUsers: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
});

export interface BackupRunDeps {
  readonly runtime: Runtime;
  readonly db: Pick<Postgres, 'query'>;
  readonly store: BackupStore;
}

export interface BackupRunReport {
  readonly week: string;
  readonly users: number;
  readonly stored: number;
  readonly skipped: number;
  readonly failed: number;
  readonly pruned: number;
}

/**
 * The weekly run: on a tick (`dev.knative.sources.ping`), back up every user who opted in
 * (`weekly_backup`) and has no backup of this week yet — so a second tick in the same week only picks
 * up who the first missed. A failing user is logged with its code and the run goes on; the counts are
 * logged and returned. A malformed tick is a permanent 400.
 */
export function createBackupRun(
  deps: BackupRunDeps,
): (event: CloudEventV1<unknown>) => Promise<BackupRunReport> {
  const { runtime, db, store } = deps;
  return async (event) => {
    const data = typeof event.data === 'string' ? (JSON.parse(event.data) as unknown) : (event.data ?? {});
    const tick = check<{ maxUsers?: number }>(Tick, data, '/data');
    const log = runtime.log.child({ 'ce.id': event.id, 'ce.type': event.type });
    const week = store.week();
    const { rows } = await db.query(
      `select u.id, u.username from users u
       where u.weekly_backup and not exists (select 1 from backups b where b.user_id = u.id and b.backup_date = $1)
       order by u.id limit $2`,
      [week, tick.maxUsers ?? 10_000],
    );
    const counts = { stored: 0, skipped: 0, failed: 0, pruned: 0 };
    for (const user of rows as { id: string; username: string }[]) {
      try {
        const result = await store.run({ id: user.id, name: user.username }, { skipIfExists: true });
        counts[result.outcome] += 1;
        counts.pruned += result.pruned;
      } catch (error) {
        counts.failed += 1;
        log.error({ code: asIsekaiError(error).code, err: error, userId: user.id }, 'backup failed');
      }
    }
    const report = { week, users: rows.length, ...counts };
    log.info(report, 'weekly backups done');
    return report;
  };
}

/** Wire the weekly run from the environment (once, at start-up; fails fast without object storage). */
export function libraryBackupFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const runtime = createRuntime('library-backup', { env });
  const settings = loadConfig(Settings, env);
  const db = createPostgres(runtime, { url: settings.DATABASE_URL, max: settings.PG_POOL_MAX });
  const store = backupStoreFromEnv(runtime, db, env, { required: true });
  if (!store) throw new Error('unreachable: a required backup store');
  return createBackupRun({ runtime, db, store });
}
