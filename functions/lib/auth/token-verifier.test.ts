import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, createLocalJWKSet, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { Unauthenticated } from '../errors.ts';
import { createTokenVerifier, type TokenVerifier } from './token-verifier.ts';

const ISSUER = 'http://keycloak.test/realms/isekai';
const AUDIENCE = 'isekai-api';
const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

let verifier: TokenVerifier;
let sign: (claims?: Record<string, unknown>, header?: Record<string, unknown>) => Promise<string>;
let otherKeySign: (claims?: Record<string, unknown>) => Promise<string>;
let publicJwk: JWK;

const claims = (extra: Record<string, unknown> = {}) => ({
  iss: ISSUER,
  aud: ['isekai-api', 'account'],
  sub: 'f1d2c3b4-0000-4000-8000-000000000001',
  typ: 'Bearer',
  preferred_username: 'viewer1',
  realm_access: { roles: ['viewer'] },
  iat: now(),
  exp: now() + 300,
  ...extra,
});

beforeAll(async () => {
  const realm = await generateKeyPair('RS256', { extractable: true });
  const other = await generateKeyPair('RS256', { extractable: true });
  publicJwk = { ...(await exportJWK(realm.publicKey)), kid: 'realm-key-1', alg: 'RS256', use: 'sig' };
  verifier = createTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: createLocalJWKSet({ keys: [publicJwk] }),
  });
  sign = (extra = {}, header = {}) =>
    new SignJWT(claims(extra))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'realm-key-1', ...header })
      .sign(realm.privateKey);
  otherKeySign = (extra = {}) =>
    new SignJWT(claims(extra))
      .setProtectedHeader({ alg: 'RS256', kid: 'attacker-key' })
      .sign(other.privateKey);
});

describe('token verification', () => {
  it('accepts a valid realm token and reads identity and roles', async () => {
    const identity = await verifier.verify(await sign());
    expect(identity).toMatchObject({ username: 'viewer1', roles: ['viewer'] });
  });

  it.each([
    [
      'azp, as registered (Keycloak)',
      { azp: 'Airing-Bot', preferred_username: 'service-account-airing-bot' },
      'Airing-Bot',
    ],
    ['client_id (RFC 9068) when there is no azp', { client_id: 'Airing-Bot' }, 'Airing-Bot'],
    ['nothing for a token naming no client', {}, undefined],
  ])('reads the client id from %s', async (_name, extra, clientId) => {
    expect((await verifier.verify(await sign(extra))).clientId).toBe(clientId);
  });

  describe('allows up to 30 s of clock skew', () => {
    // The clock is frozen so that the seconds between signing and verifying cannot move a case across the line.
    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-11-30T12:00:00.500Z'));
    });
    afterEach(() => vi.useRealTimers());
    const skews: [string, Record<string, number>, boolean][] = [
      ['expired 29 s ago', { exp: -29 }, true],
      ['expired 31 s ago', { exp: -31 }, false],
      ['not before 29 s from now', { nbf: 29 }, true],
      ['not before 31 s from now', { nbf: 31 }, false],
    ];
    expect(skews, 'both sides of the line for exp and nbf').toHaveLength(4);
    it.each(skews)('%s → accepted: %s', async (_name, offsets, accepted) => {
      const shifted = Object.fromEntries(Object.entries(offsets).map(([claim, by]) => [claim, now() + by]));
      const outcome = await verifier.verify(await sign(shifted)).then(
        () => 'accepted',
        (e: unknown) => (e as Unauthenticated).reason,
      );
      expect(outcome).toBe(accepted ? 'accepted' : 'invalid_token');
    });
  });

  const attacks: [string, () => Promise<string>][] = [
    ['alg none', async () => `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    [
      'HS256 signed with the public key',
      async () => {
        const head = `${b64({ alg: 'HS256', typ: 'JWT', kid: 'realm-key-1' })}.${b64(claims())}`;
        const mac = createHmac('sha256', JSON.stringify(publicJwk)).update(head).digest('base64url');
        return `${head}.${mac}`;
      },
    ],
    ['expired', () => sign({ exp: now() - 120 })],
    ['nbf in the future', () => sign({ nbf: now() + 120 })],
    ['wrong iss', () => sign({ iss: 'http://keycloak.test/realms/other' })],
    ['wrong aud', () => sign({ aud: 'account' })],
    ['unknown kid', () => otherKeySign()],
    [
      'tampered payload',
      async () => {
        const [h, , s] = (await sign()).split('.');
        return `${h}.${b64(claims({ realm_access: { roles: ['admin'] } }))}.${s}`;
      },
    ],
    ['a token from another realm', () => otherKeySign({ iss: 'http://keycloak.test/realms/evil' })],
    ['an ID token instead of an access token', () => sign({ typ: 'ID' })],
    ['a token without the typ claim', () => sign({ typ: undefined })],
    ['no exp', () => sign({ exp: undefined })],
    ['garbage', async () => 'not.a.jwt'],
  ];

  expect(attacks, 'attack cases').toHaveLength(13);
  it.each(attacks)('rejects %s with invalid_token', async (_name, make) => {
    const error = await verifier.verify(await make()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Unauthenticated);
    expect((error as Unauthenticated).code).toBe('unauthenticated');
    expect((error as Unauthenticated).reason).toBe('invalid_token');
  });

  describe('a token verified once', () => {
    afterEach(() => vi.useRealTimers());

    it('is answered from memory: the key source is not asked again', async () => {
      const local = createLocalJWKSet({ keys: [publicJwk] });
      let lookups = 0;
      const counting = createTokenVerifier({
        issuer: ISSUER,
        audience: AUDIENCE,
        keys: (header, token) => {
          lookups += 1;
          return local(header, token);
        },
      });
      const token = await sign();
      const first = await counting.verify(token);
      expect(await counting.verify(token)).toEqual(first);
      expect(lookups).toBe(1);
      // One byte changed in the signature is another token: verified, and refused.
      const tampered = `${token.slice(0, -2)}${token.endsWith('A') ? 'B' : 'A'}${token.slice(-1)}`;
      await expect(counting.verify(tampered)).rejects.toBeInstanceOf(Unauthenticated);
      expect(lookups).toBe(2);
    });

    it('is refused once it expires (exp + 30 s), as a fresh one would be', async () => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(new Date('2026-11-30T12:00:00.000Z'));
      const token = await sign({ exp: now() + 10 });
      await expect(verifier.verify(token)).resolves.toMatchObject({ username: 'viewer1' });
      vi.setSystemTime(new Date('2026-11-30T12:00:39.000Z'));
      await expect(verifier.verify(token)).resolves.toMatchObject({ username: 'viewer1' });
      vi.setSystemTime(new Date('2026-11-30T12:00:40.000Z'));
      const error = await verifier.verify(token).catch((e: unknown) => e);
      expect((error as Unauthenticated).reason).toBe('invalid_token');
    });
  });

  it('reads Bearer tokens from requests and ignores anonymous ones', async () => {
    const req = (authorization?: string) => ({ headers: authorization ? { authorization } : {} }) as never;
    // Anonymous: undefined at once (no promise: an anonymous read on an `optional` route never waits).
    expect(verifier.authenticate(req())).toBeUndefined();
    await expect(verifier.authenticate(req(`Bearer ${await sign()}`))).resolves.toMatchObject({
      username: 'viewer1',
    });
    await expect(verifier.authenticate(req('Basic dXNlcjpwYXNz'))).rejects.toBeInstanceOf(Unauthenticated);
  });

  it.each([
    ['lowercase', 'bearer '],
    ['uppercase', 'BEARER '],
    ['mixed case', 'bEaReR '],
    ['two spaces (1*SP)', 'Bearer  '],
  ])('reads the scheme in any case (RFC 7235 §2.1): %s', async (_name, prefix) => {
    const req = { headers: { authorization: `${prefix}${await sign()}` } } as never;
    await expect(verifier.authenticate(req)).resolves.toMatchObject({ username: 'viewer1' });
  });

  it.each([
    ['no space', 'Bearer'],
    ['another scheme', 'Bearers '],
  ])('still refuses a header that is not the Bearer scheme: %s', async (_name, prefix) => {
    const req = { headers: { authorization: `${prefix}${await sign()}` } } as never;
    await expect(verifier.authenticate(req)).rejects.toMatchObject({ code: 'unauthenticated' });
  });
});

describe('a token verified once, against a JWKS server whose keys change (Keycloak removing a key)', () => {
  /** What the server publishes now, and how often the verifier fetched it. */
  let published: JWK[] = [];
  let fetches = 0;
  let server: Server;
  let jwksUrl = '';
  const signers = new Map<string, { privateKey: CryptoKey; jwk: JWK }>();

  beforeAll(async () => {
    for (const kid of ['key-a', 'key-b', 'key-c']) {
      const pair = await generateKeyPair('RS256', { extractable: true });
      const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: 'RS256', use: 'sig' };
      signers.set(kid, { privateKey: pair.privateKey, jwk });
    }
    server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  // jose's refetch cooldown (5 s) and JWKS age (10 min) are read from Date.now(): the clock is moved by hand.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-11-30T12:00:00.000Z'));
    fetches = 0;
  });
  afterEach(() => vi.useRealTimers());

  const publish = (...kids: string[]) => {
    published = kids.map((kid) => signers.get(kid)?.jwk as JWK);
  };
  /** A token signed with `kid`'s key, valid for an hour (longer than any cache here). */
  const signedWith = (kid: string) =>
    new SignJWT(claims({ exp: now() + 3600 }))
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .sign(signers.get(kid)?.privateKey as CryptoKey);
  const outcome = (v: TokenVerifier, token: string) =>
    v.verify(token).then(
      () => 'accepted',
      (e: unknown) => (e as Unauthenticated).reason,
    );
  const later = (ms: number) => vi.setSystemTime(new Date(Date.now() + ms));

  it('is answered from memory (no fetch) while its key is published, and refused once a refetch no longer finds its key', async () => {
    publish('key-a', 'key-b');
    const v = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl });
    const old = await signedWith('key-a');
    expect(await outcome(v, old)).toBe('accepted');
    expect(await outcome(v, old)).toBe('accepted');
    expect(fetches).toBe(1);
    // Keycloak removes key A and signs with a new key C; the first C token makes the verifier refetch
    // (past jose's 5 s cooldown): what it holds now has no key A.
    publish('key-b', 'key-c');
    later(6_000);
    expect(await outcome(v, await signedWith('key-c'))).toBe('accepted');
    expect(fetches).toBe(2);
    expect(await outcome(v, old)).toBe('invalid_token');
    expect(fetches).toBe(2);
  });

  it('once the key set it holds is 10 min old, a remembered token is checked again (one refetch): a key removed meanwhile is refused', async () => {
    publish('key-a');
    const v = createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUrl });
    const token = await signedWith('key-a');
    expect(await outcome(v, token)).toBe('accepted');
    publish('key-b');
    later(9 * 60_000);
    expect(await outcome(v, token)).toBe('accepted');
    expect(fetches).toBe(1);
    later(60_000 + 1);
    expect(await outcome(v, token)).toBe('invalid_token');
    expect(fetches).toBe(2);
  });
});
