import { Type } from '../lib/config.ts';

/** What edge-auth reads besides BaseSettings (all plain settings: the manifest sets them). */
export const EdgeAuthSettings = Type.Object({
  OIDC_ISSUER: Type.String({ format: 'uri' }),
  OIDC_AUDIENCE: Type.String({ minLength: 1, default: 'isekai-api' }),
  OIDC_JWKS_URL: Type.Optional(Type.String({ format: 'uri' })),
  /** Longest time nginx may cache a positive answer (never past the token's expiry). */
  EDGE_AUTH_CACHE_SECONDS: Type.Integer({ minimum: 0, maximum: 300, default: 30 }),
});

/** Settings schemas edge-auth parses at start-up (with BaseSettings). */
export const settings = [EdgeAuthSettings] as const;
/** Settings Vault provides in the cluster: none (a public JWKS needs no credentials). */
export const vaultSettings: readonly string[] = [];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
