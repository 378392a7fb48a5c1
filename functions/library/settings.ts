import { BackupSettings } from '../lib/backups/backup-settings.ts';
import { TrackingSettings } from '../lib/tracking/wiring.ts';

/** Settings schemas library parses at start-up (with BaseSettings): the tracking functions' own. */
export const settings = [TrackingSettings, BackupSettings] as const;
/**
 * Settings Vault provides in the cluster (they carry credentials): DATABASE_URL from
 * kv/data/isekai/library/config, REDIS_URL from kv/data/isekai/shared/redis (a write drops the cached
 * catalog object before answering), and the object-storage keys for the user's backups. Never set in a
 * manifest.
 */
export const vaultSettings: readonly string[] = [
  'DATABASE_URL',
  'REDIS_URL',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['redis', 'backup-store'];
