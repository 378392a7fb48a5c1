import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmbeddedOidc, startEmbeddedOidc } from '../../../scripts/stack/oidc/index.ts';
import { createOidc, type Oidc } from './oidc.ts';
import { memoryStore, Session } from './session.ts';
import { accessToken } from './viewer.ts';

/**
 * The sign-in glue against the embedded identity provider of `npm start` (oidc-provider serving the
 * realm export on Keycloak's paths): authorization code + PKCE S256 with the `isekai-site` client, the
 * dev login form posted like a browser would, refresh, and the end-session URL.
 */
const SITE = 'https://isekai.test:8443';
const realmDir = join(import.meta.dirname, '../../../knative/base/keycloak');
let provider: EmbeddedOidc;
let dataDir: string;
let oidc: Oidc;

/** Follow redirects by hand with a cookie jar until one leaves the provider; returns that Location. */
async function browse(start: string, login: { username: string; password: string }): Promise<string> {
  const jar = new Map<string, string>();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair && eq > 0) jar.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
  };
  let url = start;
  for (let hop = 0; hop < 10; hop++) {
    if (!url.startsWith(provider.issuer.replace(/\/realms\/.*/, ''))) return url;
    const isLogin = url.includes('/login-actions/');
    const res = await fetch(url, {
      method: isLogin ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: cookie(),
        ...(isLogin ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(isLogin ? { body: new URLSearchParams(login).toString() } : {}),
    });
    remember(res);
    const location = res.headers.get('location');
    if (!location)
      throw new Error(`no redirect from ${url}: ${res.status} ${(await res.text()).slice(0, 200)}`);
    url = new URL(location, url).href;
  }
  throw new Error('too many redirects');
}

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'isekai-site-oidc-'));
  provider = await startEmbeddedOidc({
    port: 0,
    realmFile: join(realmDir, 'realm-isekai.json'),
    overlayFile: join(realmDir, 'realm-isekai.dev-overlay.json'),
    dataDir,
    siteOrigin: SITE,
  });
  oidc = createOidc({
    issuer: provider.issuer,
    clientId: 'isekai-site',
    clientSecret: 'dev-only-isekai-site-secret',
    siteOrigin: SITE,
    allowHttp: true,
  });
});

afterAll(async () => {
  await provider?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('sign-in with the isekai-site client (code + PKCE S256)', () => {
  it('sends the browser to the provider with an S256 challenge, state and nonce, and the exact callback', async () => {
    const { url, pending } = await oidc.begin('/anime/200');
    expect(url.pathname).toBe('/realms/isekai/protocol/openid-connect/auth');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe(`${SITE}/auth/callback`);
    expect(url.searchParams.get('state')).toBe(pending.state);
    expect(pending.returnTo).toBe('/anime/200');
  });

  it('signs in, refreshes and builds the end-session URL', async () => {
    const { url, pending } = await oidc.begin('/');
    const callback = await browse(url.href, { username: 'viewer1', password: 'dev-only-viewer1' });
    expect(callback).toMatch(new RegExp(`^${SITE}/auth/callback\\?`));
    const { user, tokens } = await oidc.finish(new URL(callback), pending);
    expect(user.username).toBe('viewer1');
    expect(user.roles).toContain('viewer');
    expect(tokens.refresh).toBeTruthy();
    expect(tokens.idToken).toBeTruthy();

    const fresh = await oidc.refresh(tokens.refresh ?? '');
    expect(fresh.access).not.toBe(tokens.access);
    expect(fresh.expiresAt).toBeGreaterThan(Date.now());

    const logout = await oidc.logoutUrl(tokens.idToken);
    expect(logout.pathname).toBe('/realms/isekai/protocol/openid-connect/logout');
    expect(logout.searchParams.get('post_logout_redirect_uri')).toBe(`${SITE}/`);
    expect(logout.searchParams.get('id_token_hint')).toBe(tokens.idToken);
  });

  it.each([
    ['a different PKCE verifier', { verifier: 'x'.repeat(43) }],
    ['a different state', { state: 'forged-state' }],
  ])('refuses a callback checked against %s', async (_name, change) => {
    const { url, pending } = await oidc.begin('/');
    const callback = await browse(url.href, { username: 'viewer1', password: 'dev-only-viewer1' });
    await expect(oidc.finish(new URL(callback), { ...pending, ...change })).rejects.toThrow();
  });

  it('a wrong password never reaches the callback', async () => {
    const { url } = await oidc.begin('/');
    await expect(browse(url.href, { username: 'viewer1', password: 'wrong' })).rejects.toThrow(/no redirect/);
  });
});

describe('the viewer token of a session', () => {
  it('is refreshed when about to expire, and a failed refresh signs the viewer out', async () => {
    const { url, pending } = await oidc.begin('/');
    const { user, tokens } = await oidc.finish(
      new URL(await browse(url.href, { username: 'viewer1', password: 'dev-only-viewer1' })),
      pending,
    );
    const session = await Session.load(memoryStore(), 60, undefined);
    session.update((d) => {
      d.user = user;
      d.tokens = { ...tokens, expiresAt: Date.now() + 5_000 };
    });
    const token = await accessToken(session, oidc);
    expect(token).toBeTruthy();
    expect(token).not.toBe(tokens.access);
    expect(session.data?.tokens?.expiresAt).toBeGreaterThan(Date.now() + 60_000);

    session.update((d) => {
      if (d.tokens) d.tokens = { ...d.tokens, refresh: 'not-a-refresh-token', expiresAt: 0 };
    });
    expect(await accessToken(session, oidc)).toBeUndefined();
    expect(session.data?.user).toBeUndefined();
    expect(session.data?.csrf).toBeTruthy();
  });
});
