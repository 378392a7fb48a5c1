import { SubtitleStorageSettings } from '../lib/subtitles/wiring.ts';

/** Settings schemas subtitles parses at start-up (with BaseSettings). */
export const settings = [SubtitleStorageSettings] as const;
/**
 * Settings Vault provides in the cluster (credentials): MONGO_URL from kv/data/isekai/subtitles/config,
 * the bucket keys from kv/data/isekai/shared/object-store. Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['MONGO_URL', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['object-store'];
