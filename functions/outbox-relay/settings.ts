import { Type } from '../lib/config.ts';

/** What outbox-relay reads besides BaseSettings. */
export const RelaySettings = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  /** The broker ingress (a SinkBinding sets it). */
  K_SINK: Type.String({ format: 'uri' }),
  /** Rows locked and sent per transaction. */
  RELAY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  /** Rows younger than this are left to their producer's own publish. */
  RELAY_MIN_AGE_MS: Type.Integer({ minimum: 0, default: 2_000 }),
});

/** Settings schemas outbox-relay parses at start-up (with BaseSettings). */
export const settings = [RelaySettings] as const;
/** Settings Vault provides in the cluster: DATABASE_URL from kv/data/isekai/outbox-relay/config. */
export const vaultSettings: readonly string[] = ['DATABASE_URL'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
