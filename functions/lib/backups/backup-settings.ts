import { loadConfig, Type } from '../config.ts';
import type { Postgres } from '../data/postgres.ts';
import { createS3 } from '../data/s3.ts';
import { ConfigInvalid } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { type BackupStore, createBackupStore } from './backups.ts';

/** Object storage for backups (library's `/me/backups` routes and the weekly library-backup run). */
export const BackupSettings = Type.Object({
  /** S3 endpoint (Ceph RGW). Without it library answers `/me/backups` with 503; library-backup refuses to start. */
  S3_ENDPOINT: Type.Optional(Type.String({ format: 'uri' })),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.Optional(Type.String({ minLength: 1 })),
  S3_SECRET_ACCESS_KEY: Type.Optional(Type.String({ minLength: 1 })),
  BACKUP_BUCKET: Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', default: 'isekai-backups' }),
  /** Backups kept per user; older ones are deleted after each new one. */
  BACKUP_KEEP: Type.Integer({ minimum: 1, maximum: 520, default: 8 }),
});

/**
 * The backup store from the environment, or undefined when no S3_ENDPOINT is set and `required` is
 * false. Fails fast (ConfigInvalid naming the setting) on a half configuration.
 */
export function backupStoreFromEnv(
  runtime: Runtime,
  db: Pick<Postgres, 'query' | 'transaction'>,
  env: NodeJS.ProcessEnv,
  options: { required: boolean },
): BackupStore | undefined {
  const settings = loadConfig(BackupSettings, env);
  const needed = options.required || settings.S3_ENDPOINT !== undefined;
  if (!needed) return undefined;
  const missing = (['S3_ENDPOINT', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'] as const).filter(
    (name) => settings[name] === undefined,
  );
  if (missing.length > 0) {
    throw new ConfigInvalid(`invalid configuration: ${missing.join(', ')}`, {
      issues: missing.map((name) => ({ field: name, message: 'is required for backups' })),
    });
  }
  const s3 = createS3({
    endpoint: settings.S3_ENDPOINT ?? '',
    region: settings.S3_REGION,
    accessKeyId: settings.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY ?? '',
  });
  return createBackupStore({ runtime, db, s3, bucket: settings.BACKUP_BUCKET, keep: settings.BACKUP_KEEP });
}
