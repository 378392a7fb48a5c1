import type { IncomingMessage } from 'node:http';
import { createLocalJWKSet, exportJWK, generateKeyPair, jwtVerify, SignJWT } from 'jose';
import { Unauthenticated } from '../../functions/lib/errors.ts';
import type { Authenticator } from '../../functions/lib/http/types.ts';

const ISSUER = 'http://keycloak.test/realms/isekai';
const AUDIENCE = 'isekai-api';

export interface TestTokens {
  /** A bearer token for `sub` (username defaults to sub), with realm roles. */
  sign(sub: string, options?: { username?: string; name?: string; roles?: string[] }): Promise<string>;
  /** An Authenticator verifying RS256 tokens against the local JWKS, shaped like the shared verifier's. */
  readonly authenticate: Authenticator;
}

/** A throwaway RS256 signer and its verifier, for tests that need identities. */
export async function createTestTokens(): Promise<TestTokens> {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const keys = createLocalJWKSet({ keys: [jwk] });
  return {
    sign: (sub, options = {}) =>
      new SignJWT({
        preferred_username: options.username ?? sub,
        name: options.name,
        realm_access: { roles: options.roles ?? ['viewer'] },
        typ: 'Bearer',
      })
        .setProtectedHeader({ alg: 'RS256', kid: 'test-key' })
        .setSubject(sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
    authenticate: async (req: IncomingMessage) => {
      const header = req.headers.authorization;
      if (!header) return undefined;
      const token = /^Bearer (\S+)$/.exec(header)?.[1];
      if (!token) throw new Unauthenticated('malformed Authorization header', { reason: 'invalid_token' });
      try {
        const { payload } = await jwtVerify(token, keys, { issuer: ISSUER, audience: AUDIENCE });
        const roles = (payload.realm_access as { roles?: string[] } | undefined)?.roles ?? [];
        return {
          sub: String(payload.sub),
          username: String(payload.preferred_username ?? payload.sub),
          name: typeof payload.name === 'string' ? payload.name : undefined,
          roles,
          exp: payload.exp ?? 0,
        };
      } catch (error) {
        throw new Unauthenticated('invalid token', { cause: error, reason: 'invalid_token' });
      }
    },
  };
}
