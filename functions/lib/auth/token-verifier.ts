import type { IncomingMessage } from 'node:http';
import {
  createRemoteJWKSet,
  type ExportedJWKSCache,
  errors,
  type JSONWebKeySet,
  type JWKSCacheInput,
  type JWTPayload,
  type JWTVerifyGetKey,
  jwksCache,
  jwtVerify,
} from 'jose';
import { DependencyUnavailable, Unauthenticated } from '../errors.ts';
import type { Authenticator, Identity } from '../http/types.ts';

export interface TokenVerifierOptions {
  /** Exact issuer, e.g. `https://auth.isekai.dev/realms/isekai`. */
  readonly issuer: string;
  /** The API's audience; `aud` must contain it (Keycloak's default `aud` is `account`). */
  readonly audience: string;
  /** JWKS URL; defaults to Keycloak's `<issuer>/protocol/openid-connect/certs`. */
  readonly jwksUrl?: string;
  /** Key source override (tests). */
  readonly keys?: JWTVerifyGetKey;
  /** Allowed clock skew for exp/nbf/iat, seconds (≤ 30). */
  readonly clockToleranceSec?: number;
}

export interface TokenVerifier {
  /** Verify a bearer token strictly; throws Unauthenticated (invalid_token) or DependencyUnavailable. */
  verify(token: string): Promise<Identity>;
  /** Read `Authorization: Bearer …` from a request: undefined when absent, Identity when valid. */
  readonly authenticate: Authenticator;
}

interface KeycloakClaims extends JWTPayload {
  typ?: string;
  preferred_username?: string;
  azp?: string;
  client_id?: string;
  clientId?: string;
  name?: string;
  email?: string;
  realm_access?: { roles?: unknown };
}

/** Verified tokens kept per process (≈ 1–2 KiB each). */
const VERIFIED_MAX = 10_000;
/** How long jose keeps a fetched JWKS before it fetches it again on the next verification. */
const JWKS_MAX_AGE_MS = 10 * 60_000;

/**
 * `Authorization: Bearer <jwt>`. The scheme is case-insensitive (RFC 7235 §2.1: `bearer`, `BEARER` too) and
 * followed by one or more spaces (`1*SP`); the token is a compact JWS (three base64url parts).
 */
const BEARER = /^bearer +([A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]+\.[A-Za-z0-9\-_]*)$/i;

/**
 * Keycloak access-token verification shared by the edge and every function: RS256 only, exact `iss`,
 * `aud` containing the API, `exp`/`nbf` with ≤ 30 s leeway, claim `typ` = Bearer (refuses ID and
 * refresh tokens), roles from `realm_access.roles`. The JWKS is fetched once and cached; a token with an
 * unknown `kid` triggers a refetch (rate-limited), so key rotation is picked up without a restart. A token
 * verified once is answered from memory while jose would still accept it: before `exp` + the tolerance, and
 * only while its key (`kid`) is in the key set jose holds and that set is fresh — the same rules, one RSA
 * check, no fetch per request.
 */
export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const clockTolerance = Math.min(options.clockToleranceSec ?? 30, 30);
  /** The key set jose fetched last: its `jwksCache` option writes `jwks` (and `uat`) here on every fetch. */
  const held: Partial<ExportedJWKSCache> = {};
  const remote = options.keys
    ? undefined
    : createRemoteJWKSet(new URL(options.jwksUrl ?? `${options.issuer}/protocol/openid-connect/certs`), {
        timeoutDuration: 2_000,
        cooldownDuration: 5_000,
        cacheMaxAge: JWKS_MAX_AGE_MS,
        [jwksCache]: held as JWKSCacheInput,
      });
  const keys: JWTVerifyGetKey = options.keys ?? (remote as JWTVerifyGetKey);

  /** The `kid`s of `held.jwks`, worked out again only when jose has replaced the set. */
  let kidsOf: JSONWebKeySet | undefined;
  let kids: ReadonlySet<string> = new Set();
  /**
   * Whether a token verified with key `kid` may still be answered from memory: its key is in the set jose
   * holds now (a refetch — on an unknown `kid`, or once the set is 10 min old — drops a key Keycloak
   * removed), and that set is fresh (else the token goes to jose, which refetches it first). A fixed key
   * source (`options.keys`) never changes.
   */
  function keyStillHeld(kid: string | undefined): boolean {
    if (!remote) return true;
    if (kid === undefined || !remote.fresh) return false;
    if (held.jwks !== kidsOf) {
      kidsOf = held.jwks;
      kids = new Set((kidsOf?.keys ?? []).flatMap((k) => (typeof k.kid === 'string' ? [k.kid] : [])));
    }
    return kids.has(kid);
  }

  /**
   * Tokens verified before, by their exact text (a different byte is a different key), with their key's
   * `kid` and the moment jose would start refusing them (`exp` + the clock tolerance). An RS256
   * verification was the largest CPU item of an authenticated write (bench/README.md, "Rating write"); a
   * client sends the same token for minutes. Only successes are kept; oldest out first.
   */
  const verified = new Map<
    string,
    { readonly identity: Identity; readonly kid: string | undefined; readonly until: number }
  >();

  async function verify(token: string): Promise<Identity> {
    const known = verified.get(token);
    if (known) {
      if (Date.now() < known.until && keyStillHeld(known.kid)) return known.identity;
      verified.delete(token);
    }
    const { identity, kid } = await verifyFresh(token);
    if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value ?? '');
    verified.set(token, { identity, kid, until: (identity.exp + clockTolerance) * 1000 });
    return identity;
  }

  async function verifyFresh(token: string): Promise<{ identity: Identity; kid: string | undefined }> {
    let payload: KeycloakClaims;
    let kid: string | undefined;
    try {
      ({
        payload,
        protectedHeader: { kid },
      } = await jwtVerify<KeycloakClaims>(token, keys, {
        algorithms: ['RS256'],
        issuer: options.issuer,
        audience: options.audience,
        clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub'],
      }));
    } catch (error) {
      if (
        error instanceof errors.JWKSTimeout ||
        error instanceof errors.JWKSInvalid ||
        isFetchFailure(error)
      ) {
        throw new DependencyUnavailable('identity-provider', { cause: error, retryAfter: 5 });
      }
      throw new Unauthenticated(`invalid token: ${(error as errors.JOSEError).code ?? 'malformed'}`, {
        cause: error,
        reason: 'invalid_token',
      });
    }
    if (payload.typ !== 'Bearer') {
      throw new Unauthenticated(`invalid token: typ ${payload.typ ?? '(none)'} is not an access token`, {
        reason: 'invalid_token',
      });
    }
    const roles = Array.isArray(payload.realm_access?.roles)
      ? payload.realm_access.roles.filter((r): r is string => typeof r === 'string')
      : [];
    // Frozen: the same identity answers every request that carries this token.
    const identity: Identity = Object.freeze({
      sub: payload.sub as string,
      username: payload.preferred_username ?? (payload.sub as string),
      name: payload.name,
      email: payload.email,
      roles: Object.freeze(roles) as string[],
      clientId: payload.azp ?? payload.client_id,
      serviceAccount: isServiceAccount(payload),
      exp: payload.exp as number,
    });
    return { identity, kid };
  }

  async function bearer(header: string): Promise<Identity> {
    const match = BEARER.exec(header);
    if (!match?.[1])
      throw new Unauthenticated('the Authorization header must be "Bearer <jwt>"', {
        reason: 'invalid_token',
      });
    return verify(match[1]);
  }

  return {
    verify,
    // No Authorization header: undefined at once (no promise for an anonymous request); else a promise.
    authenticate: (req: IncomingMessage) => {
      const header = req.headers.authorization;
      if (header === undefined || header === '') return undefined;
      return bearer(header);
    },
  };
}

/**
 * Whether a Keycloak access token comes from the client-credentials grant. Every service account is named
 * `service-account-<client id>` (Keycloak's SERVICE_ACCOUNT_USER_PREFIX): the marker that fires for this
 * realm's integrator token on Keycloak 26 (checked by test/integration/keycloak.test.ts), whose client
 * lists its scopes without `service_account`, so the token has no `client_id`. A client that has that
 * scope (and the embedded dev provider) adds `client_id` (before Keycloak 25: `clientId`), recognised too.
 */
function isServiceAccount(payload: KeycloakClaims): boolean {
  return (
    payload.client_id !== undefined ||
    payload.clientId !== undefined ||
    (payload.preferred_username ?? '').startsWith('service-account-')
  );
}

function isFetchFailure(error: unknown): boolean {
  return error instanceof TypeError && /fetch failed/i.test(error.message);
}

/** The OIDC settings every function that checks tokens reads (names as in the manifests). */
export interface OidcSettings {
  readonly OIDC_ISSUER: string;
  readonly OIDC_AUDIENCE: string;
  readonly OIDC_JWKS_URL?: string | undefined;
}

/** The verifier for a function's parsed OIDC settings. */
export function verifierFromSettings(settings: OidcSettings): TokenVerifier {
  return createTokenVerifier({
    issuer: settings.OIDC_ISSUER,
    audience: settings.OIDC_AUDIENCE,
    ...(settings.OIDC_JWKS_URL ? { jwksUrl: settings.OIDC_JWKS_URL } : {}),
  });
}
