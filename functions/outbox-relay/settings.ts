import { Type } from '../lib/config.ts';

/** What outbox-relay reads besides BaseSettings. */
export const RelaySettings = Type.Object({
  /** The PostgreSQL outbox (table `outbox`). */
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  /**
   * The subtitle documents' pending events (collections `subtitles`, `subtitle_reports`). Without it
   * (`npm start` with no MongoDB) only the PostgreSQL outbox is relayed; Vault always provides it in the cluster.
   */
  MONGO_URL: Type.Optional(Type.String({ pattern: '^mongodb(\\+srv)?://' })),
  /** Database name; without it the one in MONGO_URL's path (the driver's `test` when there is none). */
  MONGO_DATABASE: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}$' })),
  /** The broker ingress (a SinkBinding sets it). */
  K_SINK: Type.String({ format: 'uri' }),
  /** Events claimed and sent per claim (rows of the outbox, or pending events of subtitle documents). */
  RELAY_BATCH_SIZE: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  /** Outbox rows younger than this are left to their producer's own publish. */
  RELAY_MIN_AGE_MS: Type.Integer({ minimum: 0, default: 2_000 }),
  /** Pending subtitle events younger than this are left to their producer's own publish (fewer double sends). */
  SUBTITLE_RELAY_MIN_AGE_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
});

/** Settings schemas outbox-relay parses at start-up (with BaseSettings). */
export const settings = [RelaySettings] as const;
/**
 * Settings Vault provides in the cluster: DATABASE_URL and MONGO_URL from kv/data/isekai/outbox-relay/config.
 * Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['DATABASE_URL', 'MONGO_URL'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
