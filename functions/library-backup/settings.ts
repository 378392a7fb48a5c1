import { BackupSettings } from '../lib/backups/backup-settings.ts';
import { Settings } from './run.ts';

/** Settings schemas library-backup parses at start-up (with BaseSettings). */
export const settings = [Settings, BackupSettings] as const;
/**
 * Settings Vault provides in the cluster: DATABASE_URL from kv/data/isekai/library-backup/config, the keys
 * of bucket isekai-backups from the shared backup-store secret. Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['DATABASE_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: the backups bucket's keys (rook claim `backups`). */
export const sharedSecrets: readonly string[] = ['backup-store'];
