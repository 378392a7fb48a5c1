import { TrackingSettings } from '../lib/tracking/wiring.ts';

/** Settings schemas rate-anime parses at start-up (with BaseSettings): the tracking functions' own. */
export const settings = [TrackingSettings] as const;
/**
 * Settings Vault provides in the cluster (they carry credentials): DATABASE_URL from
 * kv/data/isekai/rate-anime/config, REDIS_URL from kv/data/isekai/shared/redis (a write drops the cached
 * catalog object before answering). Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['DATABASE_URL', 'REDIS_URL'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['redis'];
