import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../../functions/lib/auth/token-verifier.ts';
import { type EmbeddedOidc, startEmbeddedOidc } from './index.ts';

const keycloak = new URL('../../../knative/base/keycloak/', import.meta.url).pathname;
const realmFile = join(keycloak, 'realm-isekai.json');
const overlayFile = join(keycloak, 'realm-isekai.dev-overlay.json');
const SITE_REDIRECT = 'http://127.0.0.1:4321/auth/callback';

let dataDir: string;
let oidc: EmbeddedOidc;
const tokenUrl = () => `${oidc.issuer}/protocol/openid-connect/token`;
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function passwordGrant(username: string, password: string, clientId = 'isekai-dev-cli') {
  const res = await fetch(tokenUrl(), {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'password', client_id: clientId, username, password }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'isekai-oidc-'));
  oidc = await startEmbeddedOidc({ port: 0, realmFile, overlayFile, dataDir });
});
afterAll(async () => {
  await oidc?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('embedded OpenID provider shaped like the Keycloak realm', () => {
  it('serves discovery and JWKS on the Keycloak paths', async () => {
    expect(oidc.issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/realms\/isekai$/);
    const doc = (await (await fetch(`${oidc.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(doc.issuer).toBe(oidc.issuer);
    expect(doc.jwks_uri).toBe(`${oidc.issuer}/protocol/openid-connect/certs`);
    expect(doc.token_endpoint).toBe(tokenUrl());
    expect(doc.authorization_endpoint).toBe(`${oidc.issuer}/protocol/openid-connect/auth`);
    expect(doc.userinfo_endpoint).toBe(`${oidc.issuer}/protocol/openid-connect/userinfo`);
    expect(doc.end_session_endpoint).toBe(`${oidc.issuer}/protocol/openid-connect/logout`);
    const jwks = (await (await fetch(doc.jwks_uri as string)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });

  it('password grant (dev CLI): a Keycloak-shaped token the shared verifier accepts', async () => {
    const { status, body } = await passwordGrant('viewer1', 'dev-only-viewer1');
    expect(status).toBe(200);
    expect(body.token_type).toBe('Bearer');
    const identity = await createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' }).verify(
      body.access_token as string,
    );
    expect(identity.username).toBe('viewer1');
    expect(identity.name).toBe('Viewer One');
    expect(identity.email).toBe('viewer1@isekai.localhost');
    expect(identity.roles).toEqual(
      expect.arrayContaining(['viewer', 'default-roles-isekai', 'offline_access']),
    );
    expect(identity.roles).not.toContain('admin');

    const [header, payload] = (body.access_token as string)
      .split('.')
      .slice(0, 2)
      .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>);
    expect(header).toMatchObject({ alg: 'RS256', typ: 'JWT', kid: expect.any(String) });
    expect(payload).toMatchObject({ typ: 'Bearer', azp: 'isekai-dev-cli', aud: ['isekai-api', 'account'] });
    // sub is stable: the same user gets the same subject on the next token.
    const again = await passwordGrant('viewer1', 'dev-only-viewer1');
    expect(
      JSON.parse(Buffer.from((again.body.access_token as string).split('.')[1] ?? '', 'base64url').toString())
        .sub,
    ).toBe(payload?.sub);
  });

  it('password grant returns a refresh token; refreshing gives a new access token for the same user', async () => {
    const { status, body } = await passwordGrant('viewer1', 'dev-only-viewer1');
    expect(status).toBe(200);
    expect(body.refresh_token).toEqual(expect.any(String));
    expect(body.refresh_expires_in).toBeGreaterThan(0);
    const refreshed = await fetch(`${oidc.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'isekai-dev-cli',
        refresh_token: body.refresh_token as string,
      }),
    });
    const next = (await refreshed.json()) as Record<string, unknown>;
    expect(refreshed.status).toBe(200);
    expect(next.access_token).not.toBe(body.access_token);
    const verify = createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' });
    const identity = await verify.verify(next.access_token as string);
    expect(identity.username).toBe('viewer1');
    expect(identity.roles).toContain('viewer');
    expect(identity.serviceAccount).toBe(false); // a person: `user` routes accept it
    // A made-up refresh token is refused.
    const bogus = await fetch(`${oidc.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'isekai-dev-cli',
        refresh_token: 'nope',
      }),
    });
    expect(bogus.status).toBe(400);
    expect(((await bogus.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('password grant gives each dev user its roles', async () => {
    const verifier = createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' });
    for (const [user, role] of [
      ['uploader1', 'uploader'],
      ['moderator1', 'moderator'],
      ['admin1', 'admin'],
    ] as const) {
      const { body } = await passwordGrant(user, `dev-only-${user}`);
      expect((await verifier.verify(body.access_token as string)).roles).toContain(role);
    }
  });

  it('wrong password or unknown user: invalid_grant', async () => {
    for (const [user, password] of [
      ['viewer1', 'wrong'],
      ['nobody', 'dev-only-nobody'],
      ['service-account-isekai-integrations', ''],
    ] as const) {
      const { status, body } = await passwordGrant(user, password);
      expect([400, 401]).toContain(status);
      expect(body.error).toBe('invalid_grant');
      expect(body).not.toHaveProperty('access_token');
    }
  });

  it('password grant is refused to clients without direct access grants', async () => {
    const res = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { authorization: basic('isekai-site', 'dev-only-isekai-site-secret') },
      body: new URLSearchParams({
        grant_type: 'password',
        username: 'viewer1',
        password: 'dev-only-viewer1',
      }),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toMatch(/invalid_request|unauthorized_client/);
  });

  it('client credentials for isekai-integrations: service-account token with integrator', async () => {
    const res = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { authorization: basic('isekai-integrations', 'dev-only-isekai-integrations-secret') },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { access_token: string };
    const identity = await createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' }).verify(
      body.access_token,
    );
    expect(identity.roles).toContain('integrator');
    expect(identity.username).toBe('service-account-isekai-integrations');
    expect(identity.serviceAccount).toBe(true); // `user` routes refuse it (functions/lib/auth/people.ts)

    const bad = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { authorization: basic('isekai-integrations', 'wrong-secret') },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(bad.status).toBe(401);
    expect(((await bad.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('an unknown client is refused at the token and authorization endpoints', async () => {
    const token = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { authorization: basic('evil-client', 'secret') },
      body: new URLSearchParams({ grant_type: 'client_credentials' }),
    });
    expect(token.status).toBe(401);
    expect(((await token.json()) as { error: string }).error).toBe('invalid_client');
    const cli = await passwordGrant('viewer1', 'dev-only-viewer1', 'evil-cli');
    expect(cli.status).toBe(401);
    const auth = await fetch(
      `${oidc.issuer}/protocol/openid-connect/auth?${new URLSearchParams({
        client_id: 'evil-client',
        response_type: 'code',
        redirect_uri: 'https://evil.example/cb',
        scope: 'openid',
      })}`,
      { redirect: 'manual' },
    );
    expect(auth.status).toBe(400);
    expect(auth.headers.get('location')).toBeNull();
  });

  it('authorization code + PKCE (isekai-site): login form → code → token', async () => {
    const jar = new Map<string, string>();
    const send = async (url: string, init: RequestInit = {}) => {
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: {
          ...(init.headers as Record<string, string>),
          cookie: [...jar].map(([k, v]) => `${k}=${v}`).join('; '),
        },
      });
      for (const cookie of res.headers.getSetCookie()) {
        const [pair = ''] = cookie.split(';');
        const eq = pair.indexOf('=');
        const [name, value] = [pair.slice(0, eq), pair.slice(eq + 1)];
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(cookie)) jar.delete(name);
        else jar.set(name, value);
      }
      return res;
    };
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const authorize = (extra: Record<string, string> = {}) =>
      `${oidc.issuer}/protocol/openid-connect/auth?${new URLSearchParams({
        client_id: 'isekai-site',
        response_type: 'code',
        redirect_uri: SITE_REDIRECT,
        scope: 'openid',
        state: 'state-1',
        nonce: 'nonce-1',
        code_challenge: challenge,
        code_challenge_method: 'S256',
        ...extra,
      })}`;

    // Without PKCE, or with a redirect URI not registered exactly, the request is refused.
    const noPkce = await fetch(authorize({ code_challenge: '', code_challenge_method: '' }), {
      redirect: 'manual',
    });
    expect(noPkce.headers.get('location') ?? '').toMatch(/error=invalid_request/);
    const badRedirect = await fetch(authorize({ redirect_uri: `${SITE_REDIRECT}/x` }), {
      redirect: 'manual',
    });
    expect(badRedirect.status).toBe(400);
    expect(badRedirect.headers.get('location')).toBeNull();

    const start = await send(authorize());
    expect(start.status).toBe(303);
    const loginUrl = new URL(start.headers.get('location') ?? '', oidc.issuer).href;
    expect(loginUrl).toContain('/realms/isekai/login-actions/');
    const form = await send(loginUrl);
    expect(form.status).toBe(200);
    expect(await form.text()).toContain('name="password"');

    const wrong = await send(loginUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'moderator1', password: 'nope' }).toString(),
    });
    expect(wrong.status).toBe(200);
    expect(await wrong.text()).toContain('Invalid username or password');

    let res = await send(loginUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'moderator1', password: 'dev-only-moderator1' }).toString(),
    });
    let location = '';
    for (let hops = 0; hops < 5 && res.status >= 300 && res.status < 400; hops++) {
      location = new URL(res.headers.get('location') ?? '', oidc.issuer).href;
      if (location.startsWith(SITE_REDIRECT)) break;
      res = await send(location);
    }
    const callback = new URL(location);
    expect(callback.origin + callback.pathname).toBe(SITE_REDIRECT);
    expect(callback.searchParams.get('state')).toBe('state-1');
    const code = callback.searchParams.get('code') ?? '';
    expect(code).not.toBe('');

    const exchange = (codeVerifier: string) =>
      fetch(tokenUrl(), {
        method: 'POST',
        headers: { authorization: basic('isekai-site', 'dev-only-isekai-site-secret') },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code,
          redirect_uri: SITE_REDIRECT,
          code_verifier: codeVerifier,
        }),
      });
    const wrongVerifier = await exchange(randomBytes(32).toString('base64url'));
    expect(wrongVerifier.status).toBe(400);
    // A failed attempt does not consume the code; the right verifier now succeeds.
    const tokenRes = await exchange(verifier);
    expect(tokenRes.status).toBe(200);
    const tokens = (await tokenRes.json()) as {
      access_token: string;
      id_token: string;
      refresh_token?: string;
    };
    expect(tokens.id_token).toBeTruthy();
    const identity = await createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' }).verify(
      tokens.access_token,
    );
    expect(identity.username).toBe('moderator1');
    expect(identity.roles).toEqual(expect.arrayContaining(['viewer', 'moderator']));

    // The refresh token (use.refresh.tokens) yields a new Keycloak-shaped access token.
    expect(tokens.refresh_token).toBeTruthy();
    const refreshed = await fetch(tokenUrl(), {
      method: 'POST',
      headers: { authorization: basic('isekai-site', 'dev-only-isekai-site-secret') },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' }),
    });
    expect(refreshed.status).toBe(200);
    const again = (await refreshed.json()) as { access_token: string };
    const verifier2 = createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' });
    expect((await verifier2.verify(again.access_token)).username).toBe('moderator1');

    const userinfo = await fetch(`${oidc.issuer}/protocol/openid-connect/userinfo`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(userinfo.status).toBe(200);
    expect(await userinfo.json()).toMatchObject({ sub: identity.sub, preferred_username: 'moderator1' });
    const noToken = await fetch(`${oidc.issuer}/protocol/openid-connect/userinfo`);
    expect(noToken.status).toBe(401);
  });

  it('keeps its signing key in dataDir: tokens stay valid after a restart', async () => {
    const { body } = await passwordGrant('admin1', 'dev-only-admin1');
    const port = Number(new URL(oidc.issuer).port);
    await oidc.stop();
    oidc = await startEmbeddedOidc({ port, realmFile, overlayFile, dataDir });
    const identity = await createTokenVerifier({ issuer: oidc.issuer, audience: 'isekai-api' }).verify(
      body.access_token as string,
    );
    expect(identity.roles).toContain('admin');
  });
});
