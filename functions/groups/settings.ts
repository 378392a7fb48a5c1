import { TrackingSettings } from '../lib/tracking/wiring.ts';

/** Settings schemas groups parses at start-up (with BaseSettings): the tracking functions' (PostgreSQL, tokens, K_SINK). */
export const settings = [TrackingSettings] as const;
/** Settings Vault provides in the cluster (credentials): DATABASE_URL from kv/data/isekai/groups/config. */
export const vaultSettings: readonly string[] = ['DATABASE_URL'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
