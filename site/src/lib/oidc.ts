/**
 * Sign-in with openid-client: authorization code + PKCE (S256) against the realm's `isekai-site` client
 * (Keycloak, or the embedded provider of `npm start`), refresh with the refresh token, RP-initiated logout.
 * The provider's metadata is discovered once and kept; a failed discovery is retried on the next call.
 */
import * as client from 'openid-client';
import type { SessionData } from './session.ts';

export interface OidcSettings {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The site's public origin: the callback is `<origin>/auth/callback`, logout returns to `<origin>/`. */
  readonly siteOrigin: string;
  readonly allowHttp?: boolean;
}

type Tokens = NonNullable<SessionData['tokens']>;
type User = NonNullable<SessionData['user']>;
type Pending = NonNullable<SessionData['pending']>;

/** How long a sign-in may take between the redirect and the callback. */
export const PENDING_MAX_AGE_MS = 10 * 60 * 1000;

export interface Oidc {
  /** Where to send the browser, and what to remember until the callback. */
  begin(returnTo: string): Promise<{ url: URL; pending: Pending }>;
  /** Exchange the callback's code (checks state, nonce, PKCE verifier, issuer). */
  finish(callbackUrl: URL, pending: Pending): Promise<{ user: User; tokens: Tokens }>;
  refresh(refreshToken: string): Promise<Tokens>;
  /** The provider's end-session URL (RP-initiated logout), returning to the site's home. */
  logoutUrl(idToken: string | undefined): Promise<URL>;
}

export function callbackUrl(siteOrigin: string): string {
  return new URL('/auth/callback', siteOrigin).href;
}

export function createOidc(s: OidcSettings, now: () => number = Date.now): Oidc {
  let config: Promise<client.Configuration> | undefined;
  const configuration = () => {
    config ??= client
      .discovery(
        new URL(s.issuer),
        s.clientId,
        undefined,
        client.ClientSecretBasic(s.clientSecret),
        s.allowHttp ? { execute: [client.allowInsecureRequests], timeout: 10 } : { timeout: 10 },
      )
      .catch((error: unknown) => {
        config = undefined;
        throw error;
      });
    return config;
  };
  const redirectUri = callbackUrl(s.siteOrigin);

  const toTokens = (
    t: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers,
    previous?: Tokens,
  ): Tokens => ({
    access: t.access_token,
    refresh: t.refresh_token ?? previous?.refresh,
    idToken: t.id_token ?? previous?.idToken,
    expiresAt: now() + (t.expiresIn() ?? 60) * 1000,
  });

  return {
    async begin(returnTo) {
      const cfg = await configuration();
      const verifier = client.randomPKCECodeVerifier();
      const pending: Pending = {
        verifier,
        state: client.randomState(),
        nonce: client.randomNonce(),
        returnTo,
        createdAt: now(),
      };
      const url = client.buildAuthorizationUrl(cfg, {
        redirect_uri: redirectUri,
        scope: 'openid profile email',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state: pending.state,
        nonce: pending.nonce,
      });
      return { url, pending };
    },
    async finish(callback, pending) {
      if (now() - pending.createdAt > PENDING_MAX_AGE_MS) throw new Error('sign-in took too long');
      const cfg = await configuration();
      const tokens = await client.authorizationCodeGrant(cfg, callback, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error('the provider sent no ID token');
      const access = accessClaims(tokens.access_token);
      const username = String(claims.preferred_username ?? access.preferred_username ?? claims.sub);
      return {
        user: {
          sub: String(claims.sub),
          username,
          name: String(claims.name ?? username),
          roles: access.realm_access?.roles ?? [],
        },
        tokens: toTokens(tokens),
      };
    },
    async refresh(refreshToken) {
      const cfg = await configuration();
      const tokens = await client.refreshTokenGrant(cfg, refreshToken);
      return toTokens(tokens, { access: '', refresh: refreshToken, expiresAt: 0 });
    },
    async logoutUrl(idToken) {
      const cfg = await configuration();
      const params: Record<string, string> = {
        post_logout_redirect_uri: new URL('/', s.siteOrigin).href,
        client_id: s.clientId,
      };
      if (idToken) params.id_token_hint = idToken;
      return client.buildEndSessionUrl(cfg, params);
    },
  };
}

/**
 * The claims of an access token we just received from the token endpoint (read for display: roles,
 * username). Not a verification — the API verifies every token it is sent.
 */
export function accessClaims(token: string): {
  preferred_username?: string;
  realm_access?: { roles?: string[] };
} {
  try {
    const payload = token.split('.')[1] ?? '';
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
      preferred_username?: string;
      realm_access?: { roles?: string[] };
    };
  } catch {
    return {};
  }
}

/** Whether tokens should be refreshed before use (30 s early, so a request never carries a dying token). */
export const needsRefresh = (tokens: Tokens, at: number) => tokens.expiresAt - 30_000 <= at;
