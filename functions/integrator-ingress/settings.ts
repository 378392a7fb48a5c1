import { verifierFromSettings } from '../lib/auth/token-verifier.ts';
import { loadConfig, Type } from '../lib/config.ts';
import { createHttpTransport } from '../lib/events/transport.ts';
import type { HttpHandler } from '../lib/http/http-function.ts';
import type { Authenticator } from '../lib/http/types.ts';
import { createRuntime } from '../lib/runtime.ts';
import { createIntegratorIngress } from './ingress.ts';

export const IntegratorIngressSettings = Type.Object({
  /** The Keycloak realm that issues integrators' client-credentials tokens. */
  OIDC_ISSUER: Type.String({ format: 'uri' }),
  OIDC_AUDIENCE: Type.String({ minLength: 1, default: 'isekai-api' }),
  /** JWKS URL when it differs from `<issuer>/protocol/openid-connect/certs` (in-cluster Keycloak). */
  OIDC_JWKS_URL: Type.Optional(Type.String({ format: 'uri' })),
  /** The broker ingress (a SinkBinding sets it). */
  K_SINK: Type.String({ format: 'uri' }),
  /** Per-request timeout of the forward to the broker, ms. */
  BROKER_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30_000, default: 5_000 }),
});

export interface IngressOverrides {
  /** Replaces the Keycloak verifier (tests with their own keys use `createTokenVerifier({ keys })`). */
  readonly authenticate?: Authenticator;
}

/** Wire the integrator ingress from the environment (once, at start-up); fails fast naming a bad setting. */
export function integratorIngressFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: IngressOverrides = {},
): HttpHandler {
  const settings = loadConfig(IntegratorIngressSettings, env);
  const runtime = createRuntime('integrator-ingress', { env });
  const authenticate = overrides.authenticate ?? verifierFromSettings(settings).authenticate;
  const send = createHttpTransport({
    runtime,
    sink: settings.K_SINK,
    mode: 'binary',
    timeoutMs: settings.BROKER_TIMEOUT_MS,
  });
  return createIntegratorIngress({ runtime, authenticate, send });
}

/** Settings schemas integrator-ingress parses at start-up (with BaseSettings). */
export const settings = [IntegratorIngressSettings] as const;
/** Settings Vault provides in the cluster: none (it verifies public-key tokens and forwards to K_SINK). */
export const vaultSettings: readonly string[] = [];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads: none. */
export const sharedSecrets: readonly string[] = [];
