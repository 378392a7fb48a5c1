import type { IncomingMessage, ServerResponse } from 'node:http';
import { importJWK, type JWK, jwtVerify } from 'jose';
import { profileClaims } from './claims.ts';
import type { Realm } from './realm.ts';

/**
 * Keycloak's userinfo endpoint for its own (JWT) access tokens. oidc-provider's userinfo only accepts
 * opaque tokens bound to it as audience, so this one verifies the JWT itself and answers the profile.
 */
export function createUserinfoHandler(realm: Realm, issuer: string, publicJwk: JWK) {
  const key = importJWK(publicJwk, 'RS256');
  return async (req: IncomingMessage, res: ServerResponse) => {
    const match = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? '');
    const fail = (description: string) => {
      res.writeHead(401, {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${realm.name}", error="invalid_token", error_description="${description}"`,
      });
      res.end(JSON.stringify({ error: 'invalid_token', error_description: description }));
    };
    if (!match?.[1]) return fail('Token not provided');
    try {
      const { payload } = await jwtVerify(match[1], await key, { issuer, algorithms: ['RS256'] });
      const user = payload.typ === 'Bearer' && payload.sub ? realm.userBySub(payload.sub) : undefined;
      if (!user) return fail('Token verification failed');
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify(profileClaims(user, realm.client(String(payload.azp)))));
    } catch {
      fail('Token verification failed');
    }
  };
}
