import { SubtitleStorageSettings } from '../lib/subtitles/wiring.ts';
import { UploadSettings } from './upload-subtitle.ts';

/** Settings schemas upload-subtitle parses at start-up (with BaseSettings). */
export const settings = [SubtitleStorageSettings, UploadSettings] as const;
/**
 * Settings Vault provides in the cluster (credentials): DATABASE_URL and MONGO_URL from
 * kv/data/isekai/upload-subtitle/config, the bucket keys from kv/data/isekai/shared/object-store. Never
 * set in a manifest.
 */
export const vaultSettings: readonly string[] = [
  'DATABASE_URL',
  'MONGO_URL',
  'S3_ACCESS_KEY_ID',
  'S3_SECRET_ACCESS_KEY',
];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['object-store'];
