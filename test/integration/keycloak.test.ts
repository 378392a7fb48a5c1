import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, type JWTPayload, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERSON_ROLES, personRefusal } from '../../functions/lib/auth/people.ts';
import { verifierFromSettings } from '../../functions/lib/auth/token-verifier.ts';
import { devRealm, start } from '../../scripts/servers/keycloak.ts';
import type { StartedServer } from '../../scripts/servers/types.ts';
import {
  clientCredentialsToken,
  createRealm,
  DEV_USERS,
  deleteRealm,
  KeycloakRequestError,
  passwordToken,
  rotateRealmKey,
} from '../setup/keycloak-client.ts';

/**
 * The realm export (knative/base/keycloak/realm-isekai.json + dev overlay) on a real Keycloak:
 * tokens carry what edge-auth and the functions rely on, and a key rotation is picked up through the JWKS.
 */

interface KeycloakClaims extends JWTPayload {
  typ?: string;
  azp?: string;
  preferred_username?: string;
  realm_access?: { roles: string[] };
}

let server: StartedServer;
let env: Record<string, string>;

beforeAll(async () => {
  server = await start();
  env = server.env;
});

afterAll(async () => {
  await server?.stop();
});

function jwks(options: { cooldownDuration?: number } = {}, on = env) {
  return createRemoteJWKSet(new URL(on.OIDC_JWKS_URI as string), options);
}

async function verify(token: string, keys = jwks(), on = env) {
  return jwtVerify<KeycloakClaims>(token, keys, {
    algorithms: ['RS256'],
    issuer: on.OIDC_ISSUER,
    audience: on.OIDC_AUDIENCE,
  });
}

async function publishedKids(on: Record<string, string>): Promise<string[]> {
  const res = await fetch(on.OIDC_JWKS_URI as string);
  const body = (await res.json()) as { keys: { kid: string }[] };
  return body.keys.map((k) => k.kid);
}

describe('keycloak realm isekai', () => {
  it('a viewer password grant yields an RS256 Bearer access token for isekai-api with the viewer role', async () => {
    const { access_token } = await passwordToken(env, 'viewer1', DEV_USERS.viewer1.password);
    const { payload, protectedHeader } = await verify(access_token);

    expect(protectedHeader.alg).toBe('RS256');
    expect(payload.iss).toBe(env.OIDC_ISSUER);
    expect([payload.aud].flat()).toContain('isekai-api');
    expect(payload.typ).toBe('Bearer');
    expect(payload.azp).toBe('isekai-dev-cli');
    expect(payload.preferred_username).toBe('viewer1');
    expect(payload.realm_access?.roles).toContain('viewer');
    expect(payload.realm_access?.roles).not.toContain('uploader');
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(300);
  });

  it.each(Object.entries(DEV_USERS).map(([username, { password, role }]) => ({ username, password, role })))(
    'dev user $username carries $role and viewer',
    async ({ username, password, role }) => {
      const { access_token } = await passwordToken(env, username, password);
      const { payload } = await verify(access_token);
      expect(payload.realm_access?.roles).toEqual(expect.arrayContaining([role, 'viewer']));
    },
  );

  it('the integrations client-credentials token carries integrator (and no user role)', async () => {
    const { access_token } = await clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID as string,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET as string,
    );
    const { payload } = await verify(access_token);
    expect(payload.typ).toBe('Bearer');
    expect(payload.azp).toBe('isekai-integrations');
    expect(payload.realm_access?.roles).toContain('integrator');
    expect(payload.realm_access?.roles).not.toContain('viewer');
    // What lets `user` routes refuse it (functions/lib/auth/people.ts): no person role at all, and the
    // service-account shape the production verifier recognises (Keycloak 26 with this realm's scopes puts
    // no `client_id` claim in it: the `service-account-` username is the marker).
    expect(payload.realm_access?.roles.filter((r) => PERSON_ROLES.includes(r))).toEqual([]);
    const identity = await verifierFromSettings({
      OIDC_ISSUER: env.OIDC_ISSUER as string,
      OIDC_AUDIENCE: env.OIDC_AUDIENCE as string,
      OIDC_JWKS_URL: env.OIDC_JWKS_URI as string,
    }).verify(access_token);
    expect(identity).toMatchObject({ username: 'service-account-isekai-integrations', serviceAccount: true });
    expect(personRefusal(identity)).toMatch(/service-account/);
  });

  it('the browser client refuses the password grant (only the dev client allows it)', async () => {
    const attempt = passwordToken(env, 'viewer1', DEV_USERS.viewer1.password, {
      clientId: env.KEYCLOAK_SITE_CLIENT_ID,
      clientSecret: env.KEYCLOAK_SITE_CLIENT_SECRET,
    });
    await expect(attempt).rejects.toBeInstanceOf(KeycloakRequestError);
    await expect(attempt).rejects.toMatchObject({ code: 'unauthorized_client' });
  });

  it('an ID token is not accepted as an access token for isekai-api', async () => {
    const { id_token } = await passwordToken(env, 'viewer1', DEV_USERS.viewer1.password, { scope: 'openid' });
    expect(id_token).toBeDefined();
    expect(decodeJwt(id_token as string).typ).toBe('ID');
    await expect(verify(id_token as string)).rejects.toMatchObject({
      code: 'ERR_JWT_CLAIM_VALIDATION_FAILED',
    });
  });

  it('after a key rotation new tokens carry a new kid, published in the JWKS and picked up by a cached key set', async () => {
    // A throwaway copy of the realm, so tests that share `isekai` never see its keys change under them.
    const copy = await createRealm(env, { ...(await devRealm()), realm: `isekai-rotation-${Date.now()}` });
    try {
      const login = () =>
        passwordToken(copy, 'viewer1', DEV_USERS.viewer1.password).then((t) => t.access_token);
      // One key set for the whole test, as edge-auth keeps one: it must refetch on the unknown kid.
      const keys = jwks({ cooldownDuration: 0 }, copy);
      const before = await login();
      await verify(before, keys, copy);
      const oldKid = decodeProtectedHeader(before).kid;

      const rotated = await rotateRealmKey(copy);
      expect(rotated.kid).not.toBe(oldKid);
      expect(rotated.previousKids).toContain(oldKid);

      const after = await login();
      expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
      expect(await publishedKids(copy)).toEqual(expect.arrayContaining([rotated.kid, oldKid]));
      await expect(verify(after, keys, copy)).resolves.toMatchObject({
        protectedHeader: { kid: rotated.kid },
      });
      // The old key went passive: tokens issued before the rotation stay valid until they expire.
      await expect(verify(before, keys, copy)).resolves.toBeDefined();
    } finally {
      await deleteRealm(copy);
    }
  });
});
