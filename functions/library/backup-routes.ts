import type { BackupStore } from '../lib/backups/backups.ts';
import { ensureUser } from '../lib/data/users.ts';
import { DependencyUnavailable, ValidationFailed } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import type { TrackingDeps } from '../lib/tracking/wiring.ts';
import { LibraryBackupApi } from './api.ts';
import { isRealDate } from './schemas.ts';

const NO_STORE = { 'cache-control': 'private, no-store' };

/**
 * The caller's weekly backups: list them, download one (gzipped MAL XML, re-importable through
 * `POST /me/library/import`), or make this week's now. Without object storage configured: 503.
 */
export function backupRoutes(
  deps: Pick<TrackingDeps, 'db'> & { backups: BackupStore | undefined },
): AnyRoute[] {
  const { db } = deps;
  const store = () => {
    if (!deps.backups) throw new DependencyUnavailable('object storage (backups are not configured)');
    return deps.backups;
  };
  return implement(LibraryBackupApi, {
    listBackups: async (ctx) => ({
      headers: NO_STORE,
      body: { items: await store().list(ctx.identity.sub) },
    }),
    runBackup: async (ctx) => {
      const backups = store();
      const user = ctx.identity;
      await db.transaction((tx) => ensureUser(tx, user));
      const { rows } = await db.query('select username from users where id = $1', [user.sub]);
      const result = await backups.run({ id: user.sub, name: rows[0]?.username ?? user.username });
      return { status: 201, headers: NO_STORE, body: result.record };
    },
    getBackup: async (ctx) => {
      const date = ctx.params.date;
      if (!isRealDate(date))
        throw new ValidationFailed(`${date} is not a real day`, {
          issues: [{ field: '/path/date', message: 'is not a real date' }],
        });
      const { record, bytes } = await store().open(ctx.identity.sub, date);
      return {
        headers: {
          ...NO_STORE,
          'content-type': 'application/gzip',
          'content-disposition': `attachment; filename="animelist_${record.date}.xml.gz"`,
        },
        body: bytes,
      };
    },
  });
}
