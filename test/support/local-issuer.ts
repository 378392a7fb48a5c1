import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';

/** A token issuer of the test's own: its JWKS served on a local port, tokens signed with its key. */
export interface LocalIssuer {
  /** `OIDC_ISSUER`, `OIDC_AUDIENCE` and `OIDC_JWKS_URL` for the functions (and edge-auth) that verify them. */
  readonly settings: { OIDC_ISSUER: string; OIDC_AUDIENCE: string; OIDC_JWKS_URL: string };
  /** A 10-minute RS256 access token for `sub` with realm roles `roles` (default viewer). */
  sign(sub: string, roles?: string[]): Promise<string>;
  close(): void;
}

/**
 * For crash tests, whose processes are killed and replaced many times: the functions verify these tokens
 * exactly as Keycloak's (the production verifier against a JWKS URL), without a Keycloak user per caller.
 * @example const issuer = await startLocalIssuer('crash'); const token = await issuer.sign('alice');
 */
export async function startLocalIssuer(kid: string): Promise<LocalIssuer> {
  const issuer = 'http://keycloak.test/realms/isekai';
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const server = createServer((_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    settings: {
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: 'isekai-api',
      OIDC_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`,
    },
    sign: (sub, roles = ['viewer']) =>
      new SignJWT({ preferred_username: sub, realm_access: { roles }, typ: 'Bearer' })
        .setProtectedHeader({ alg: 'RS256', kid })
        .setSubject(sub)
        .setIssuer(issuer)
        .setAudience('isekai-api')
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey),
    close: () => server.close(),
  };
}
