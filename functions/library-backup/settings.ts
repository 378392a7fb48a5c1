import { BackupSettings } from '../library/backup-settings.ts';
import { Settings } from './run.ts';

/** Settings schemas library-backup parses at start-up (with BaseSettings). */
export const settings = [Settings, BackupSettings] as const;
/**
 * Settings Vault provides in the cluster, from kv/data/isekai/library-backup/config: DATABASE_URL and the
 * object storage keys. Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['DATABASE_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
