import { TrackingSettings } from '../lib/tracking/wiring.ts';

/** Settings schemas catalog parses at start-up (with BaseSettings). */
export const settings = [TrackingSettings] as const;
/**
 * Settings Vault provides in the cluster (they carry credentials): DATABASE_URL from
 * kv/data/isekai/catalog/config, REDIS_URL from kv/data/isekai/shared/redis. Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['DATABASE_URL', 'REDIS_URL'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['redis'];
