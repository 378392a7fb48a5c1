import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { DeleteObjectsCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Postgres } from '../data/postgres.ts';
import { asIsekaiError, NotFound } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { exportEntries, toMalXml } from '../tracking/export.ts';

/** One stored backup of a user's list. */
export interface BackupRecord {
  /** The ISO week's Monday (UTC), YYYY-MM-DD: one backup per user and week. */
  readonly date: string;
  readonly key: string;
  readonly sizeBytes: number;
  readonly entries: number;
  readonly sha256: string;
  readonly createdAt: string;
}

export interface BackupOutcome {
  readonly outcome: 'stored' | 'skipped';
  readonly record?: BackupRecord;
  /** Older backups deleted to keep the newest `keep`. */
  readonly pruned: number;
}

export interface BackupStore {
  /** This week's backup date (the Monday, UTC) by the store's clock. */
  week(): string;
  /**
   * Export the user's list as gzipped MAL XML, store it as this week's object, then record it (never a
   * row without its object; a failed record deletes a newly stored object), then prune to the newest
   * `keep`. `skipIfExists`: leave an existing backup of this week alone (the weekly run); otherwise it is
   * overwritten (a backup made now).
   */
  run(user: { id: string; name: string }, options?: { skipIfExists?: boolean }): Promise<BackupOutcome>;
  /** The user's backups, newest first. */
  list(userId: string): Promise<BackupRecord[]>;
  /** The stored file of one backup (NotFound when there is none for that date). */
  open(userId: string, date: string): Promise<{ record: BackupRecord; bytes: Buffer }>;
}

export interface BackupStoreOptions {
  readonly runtime: Runtime;
  readonly db: Pick<Postgres, 'query' | 'transaction'>;
  readonly s3: S3Client;
  readonly bucket: string;
  /** Backups kept per user (default 8). */
  readonly keep?: number;
  readonly now?: () => Date;
}

/** The Monday (UTC) of `at`'s ISO week, YYYY-MM-DD. */
export function weekOf(at: Date): string {
  const day = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString().slice(0, 10);
}

/** `backups/<userId>/<date>.xml.gz` (the user id escaped: it is a token's `sub`). */
export function backupKey(userId: string, date: string): string {
  return `backups/${encodeURIComponent(userId)}/${date}.xml.gz`;
}

const isMissingKey = (error: unknown) => (error as { name?: string } | null)?.name === 'NoSuchKey';

function recordOf(row: Record<string, unknown>): BackupRecord {
  return {
    date: row.backup_date as string,
    key: row.object_key as string,
    sizeBytes: row.size_bytes as number,
    entries: row.entries as number,
    sha256: row.sha256 as string,
    createdAt: (row.created_at as Date).toISOString(),
  };
}
const COLUMNS = `to_char(backup_date, 'YYYY-MM-DD') as backup_date, object_key, size_bytes, entries, sha256, created_at`;

/** Backups in object storage, recorded in PostgreSQL (table `backups`). */
export function createBackupStore(options: BackupStoreOptions): BackupStore {
  const { runtime, db, s3, bucket } = options;
  const keep = options.keep ?? 8;
  const now = options.now ?? (() => new Date());
  // Idempotent object calls: one retry; a missing key is an answer, not a fault.
  const guard = runtime.guard('s3', { attempts: 2, timeoutMs: 15_000, isFault: (e) => !isMissingKey(e) });

  async function prune(userId: string): Promise<number> {
    const { rows } = await db.query(
      `select object_key from backups where user_id = $1 order by backup_date desc offset $2`,
      [userId, keep],
    );
    const keys = rows.map((r) => r.object_key as string);
    if (keys.length === 0) return 0;
    const answer = await guard.run((abortSignal) =>
      s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
        }),
        { abortSignal },
      ),
    );
    const failed = new Set((answer.Errors ?? []).map((e) => e.Key));
    const gone = keys.filter((k) => !failed.has(k));
    // Rows go after their objects: a crash in between leaves a row whose object is gone, pruned next time.
    await db.query('delete from backups where user_id = $1 and object_key = any($2::text[])', [userId, gone]);
    return gone.length;
  }

  return {
    week: () => weekOf(now()),

    async run(user, runOptions = {}) {
      const date = weekOf(now());
      const key = backupKey(user.id, date);
      const existing = await db.query('select 1 from backups where user_id = $1 and backup_date = $2', [
        user.id,
        date,
      ]);
      const existed = (existing.rowCount ?? 0) > 0;
      if (existed && runOptions.skipIfExists) return { outcome: 'skipped', pruned: 0 };
      const entries = await exportEntries(db, user.id);
      const bytes = gzipSync(toMalXml(entries, user));
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      await guard.run((abortSignal) =>
        s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: bytes,
            ContentLength: bytes.length,
            ContentType: 'application/gzip',
            Metadata: { entries: String(entries.length), sha256 },
          }),
          { abortSignal },
        ),
      );
      let record: BackupRecord;
      try {
        record = await db.transaction(async (tx) => {
          const saved = await tx.query(
            `insert into backups (user_id, backup_date, object_key, size_bytes, entries, sha256)
             values ($1, $2, $3, $4, $5, $6)
             on conflict (user_id, backup_date) do update set size_bytes = $4, entries = $5, sha256 = $6,
               created_at = now()
             returning ${COLUMNS}`,
            [user.id, date, key, bytes.length, entries.length, sha256],
          );
          await tx.query('update users set last_backup_at = now(), last_backup_key = $2 where id = $1', [
            user.id,
            key,
          ]);
          return recordOf(saved.rows[0] ?? {});
        });
      } catch (error) {
        // A new object without its row would be invisible and never pruned: delete it. An overwritten
        // object keeps its (older) row, which still names an object that exists.
        if (!existed) {
          await guard
            .run((abortSignal) =>
              s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: [{ Key: key }] } }), {
                abortSignal,
              }),
            )
            .catch((cleanup: unknown) =>
              runtime.log.error(
                { code: asIsekaiError(cleanup).code, err: cleanup, key },
                'could not delete a backup object whose record failed',
              ),
            );
        }
        throw error;
      }
      const pruned = await prune(user.id).catch((error: unknown) => {
        runtime.log.warn(
          { code: asIsekaiError(error).code, err: error, userId: user.id },
          'could not prune old backups; the next run tries again',
        );
        return 0;
      });
      return { outcome: 'stored', record, pruned };
    },

    async list(userId) {
      const { rows } = await db.query(
        `select ${COLUMNS} from backups where user_id = $1 order by backup_date desc`,
        [userId],
      );
      return rows.map(recordOf);
    },

    async open(userId, date) {
      const { rows } = await db.query(
        `select ${COLUMNS} from backups where user_id = $1 and backup_date = $2::date`,
        [userId, date],
      );
      if (!rows[0]) throw new NotFound(`no backup of ${date}`);
      const record = recordOf(rows[0]);
      try {
        // Read whole inside the guard (backups are small): the guard aborts its signal when the call returns.
        const bytes = await guard.run(async (abortSignal) => {
          const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: record.key }), {
            abortSignal,
          });
          return Buffer.from((await answer.Body?.transformToByteArray()) ?? []);
        });
        return { record, bytes };
      } catch (error) {
        if (isMissingKey(error)) throw new NotFound(`the backup of ${date} is no longer stored`);
        throw error;
      }
    },
  };
}
