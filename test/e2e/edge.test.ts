import { createHash, createHmac, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader, type JWTPayload, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { freePort } from '../../scripts/servers/harness.ts';
import { devRealm } from '../../scripts/servers/keycloak.ts';
import { type EdgeResponse, edgeRequest, startTestEdge, type TestEdge } from '../../scripts/servers/nginx.ts';
import {
  addRealmKey,
  clientCredentialsToken,
  createRealm,
  DEV_USERS,
  deleteRealm,
  deleteRealmKeys,
  passwordToken,
  rotateRealmKey,
} from '../setup/keycloak-client.ts';
import { type RealFunctions, startRealFunctions } from '../support/real-functions.ts';

/**
 * Issue 3 "Done when", through real nginx (nginx/render.ts, local target), real Keycloak and the real
 * functions behind it (test/support/real-functions.ts: the lean host, the production wiring, each
 * function verifying tokens against the realm's JWKS; issue 18: no echo fixture): tokens, roles, the JWT
 * attack suite, identity-header spoofing, limits, streaming, expiry, key rotation. What reached a function
 * is read from the functions' own `http_requests_total` (`hits`, `servedOn`); what a function saw of the
 * caller from a route that reflects it (`GET /me`).
 *
 * Forging validly-signed-but-bad tokens: we import an RSA key we generated into the real `isekai` realm as
 * a *passive* key provider. Keycloak publishes it in the realm's JWKS (so edge-auth and the functions trust
 * its signatures) but never signs with it, so other suites sharing the realm are untouched. A forged token
 * with every claim right passes (the control case), so each attack below fails only because of the one
 * claim it changes, not because of an unknown signature. The key is deleted afterwards (and stale copies
 * first).
 */

const env = inject('env');
const FORGING_KEY = 'edge-test-forging-key';
/** A user route whose answer reflects the caller the function itself authenticated. */
const PROTECTED = { method: 'GET', path: '/me' } as const;

let edge: TestEdge;
let functions: RealFunctions;
let forgingKid: string;
let forgingKey: KeyObject;
let template: JWTPayload;
let otherRealm: Record<string, string>;
const tokens: Record<string, string> = {};

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** Requests the business functions counted, all routes together (their own /metrics). */
const hits = async () => [...(await functions.served()).values()].reduce((a, b) => a + b, 0);
/** Requests one function counted on one route template (`<fn> <METHOD> <template>`). */
const servedOn = async (key: string) => (await functions.served()).get(key) ?? 0;

function forge(claims: JWTPayload, header: { kid?: string } = {}): Promise<string> {
  const iat = now();
  return new SignJWT({ ...template, iat, exp: iat + 300, jti: crypto.randomUUID(), ...claims })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: forgingKid, ...header })
    .sign(forgingKey);
}

async function accessLogLines(): Promise<Record<string, unknown>[]> {
  const text = await readFile(edge.accessLog, 'utf8');
  return text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function expectProblem(res: EdgeResponse, status: number, code: string) {
  expect(res.status).toBe(status);
  // One exact value whoever answered, the edge or a function (RFC 9457 §6.1: no parameters).
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.json()).toMatchObject({ type: `https://isekai.dev/problems/${code}`, status, code });
}

beforeAll(async () => {
  functions = await startRealFunctions(env, 'edge');
  const deadPort = await freePort(); // nothing listens: the integrator ingress is "down"

  await deleteRealmKeys(env, FORGING_KEY);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  forgingKey = privateKey;
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  ({ kid: forgingKid } = await addRealmKey(env, { name: FORGING_KEY, privateKeyPem: pem, active: false }));

  const [viewer, uploader, moderator, integrator] = await Promise.all([
    passwordToken(env, 'viewer1', DEV_USERS.viewer1.password),
    passwordToken(env, 'uploader1', DEV_USERS.uploader1.password),
    passwordToken(env, 'moderator1', DEV_USERS.moderator1.password),
    clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID ?? '',
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET ?? '',
    ),
  ]);
  tokens.viewer = viewer.access_token;
  tokens.uploader = uploader.access_token;
  tokens.moderator = moderator.access_token;
  tokens.integrator = integrator.access_token;
  template = decodeJwt(tokens.viewer);

  otherRealm = await createRealm(env, { ...(await devRealm()), realm: `isekai-edge-${Date.now()}` });

  edge = await startTestEdge('edge', {
    functions: { ...functions.ports, 'integrator-ingress': deadPort },
    defaultPort: await freePort(),
    keycloakUrl: env.KEYCLOAK_URL ?? '',
    overrides: { limits: { perIp: { rate: 50, burst: 100 }, perToken: { rate: 5, burst: 10 } } },
  });
  await mkdir(edge.options.siteRoot, { recursive: true });
  await writeFile(join(edge.options.siteRoot, 'index.html'), '<!doctype html><title>Isekai</title>');
}, 120_000);

afterAll(async () => {
  await edge?.stop();
  await functions?.stop();
  await deleteRealmKeys(env, FORGING_KEY).catch(() => 0);
  if (otherRealm) await deleteRealm(otherRealm).catch(() => undefined);
});

describe('tokens and roles at the edge', () => {
  it('a token from the real realm passes, and the function sees the identity from it', async () => {
    const before = await servedOn('library GET /me');
    const res = await edgeRequest(edge, 'api', { ...PROTECTED, headers: bearer(tokens.viewer ?? '') });
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: template.sub, username: 'viewer1' });
    expect(await servedOn('library GET /me')).toBe(before + 1);
  });

  it('the scheme is case-insensitive (RFC 7235 §2.1): `bearer` and `BEARER` pass edge-auth and the function', async () => {
    const before = await servedOn('library GET /me');
    for (const scheme of ['bearer', 'BEARER']) {
      const headers = { authorization: `${scheme} ${tokens.viewer ?? ''}` };
      const res = await edgeRequest(edge, 'api', { ...PROTECTED, headers });
      expect(res.status, `${scheme}: ${res.body}`).toBe(200);
      expect(res.json()).toMatchObject({ id: template.sub, username: 'viewer1' });
    }
    expect(await servedOn('library GET /me')).toBe(before + 2);
  });

  it('routes the inbox at /notifications (no trailing slash) to notifications, for signed-in users only', async () => {
    const key = 'notifications GET /notifications';
    const before = await servedOn(key);
    const path = '/notifications?unread=true';
    expectProblem(await edgeRequest(edge, 'api', { path }), 401, 'unauthenticated');
    expect(await servedOn(key)).toBe(before);
    const res = await edgeRequest(edge, 'api', { path, headers: bearer(tokens.viewer ?? '') });
    expect(res.status, res.body).toBe(200);
    expect(await servedOn(key)).toBe(before + 1);
  });

  it('a user without the role gets 403 problem+json, and the function is not reached', async () => {
    const key = 'subtitles POST /subtitles/:id/moderation';
    const before = await hits();
    const path = '/subtitles/abc/moderation';
    const body = JSON.stringify({ action: 'remove', reason: 'edge test' });
    const headers = { 'content-type': 'application/json' };
    const denied = await edgeRequest(edge, 'api', {
      method: 'POST',
      path,
      body,
      headers: { ...headers, ...bearer(tokens.viewer ?? '') },
    });
    expectProblem(denied, 403, 'forbidden');
    expect(await hits()).toBe(before);
    const allowed = await edgeRequest(edge, 'api', {
      method: 'POST',
      path,
      body,
      headers: { ...headers, ...bearer(tokens.moderator ?? '') },
    });
    // The moderator got past the edge: the subtitles function judged the request (no such subtitle).
    expect([401, 403]).not.toContain(allowed.status);
    expect(allowed.status).toBeLessThan(500);
    expect(await servedOn(key)).toBe(1);
  });

  it('the integrator client cannot act as a user: GET /me and a rating are 403 at the edge, no function reached', async () => {
    const before = await hits();
    expectProblem(
      await edgeRequest(edge, 'api', { path: '/me', headers: bearer(tokens.integrator ?? '') }),
      403,
      'forbidden',
    );
    const rating = await edgeRequest(edge, 'api', {
      method: 'PUT',
      path: '/anime/5/rating',
      body: JSON.stringify({ score: 10 }),
      headers: { 'content-type': 'application/json', ...bearer(tokens.integrator ?? '') },
    });
    expectProblem(rating, 403, 'forbidden');
    expect(await hits()).toBe(before);
  });

  it('nor on a route where the token is optional: 403 at the edge (no function reached) and in the function itself; without a token, or with a person’s, answered', async () => {
    const optional = [
      ['catalog', '/anime/1'],
      ['rate-anime', '/anime/1/episodes/ratings'],
    ] as const;
    const before = await hits();
    for (const [, path] of optional) {
      const res = await edgeRequest(edge, 'api', { path, headers: bearer(tokens.integrator ?? '') });
      expectProblem(res, 403, 'forbidden');
    }
    expect(await hits()).toBe(before);
    // Past the edge (a Knative Service is reachable inside the cluster), the function refuses it as well.
    for (const [fn, path] of optional) {
      const res = await fetch(`http://127.0.0.1:${functions.ports[fn]}${path}`, {
        headers: bearer(tokens.integrator ?? ''),
      });
      expect(res.status, `${fn} ${path}`).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { detail: string }).detail).toMatch(/service-account/);
    }
    for (const [, path] of optional) {
      expect((await edgeRequest(edge, 'api', { path })).status, path).toBe(200);
      const person = await edgeRequest(edge, 'api', { path, headers: bearer(tokens.viewer ?? '') });
      expect(person.status, `${path}: ${person.body}`).toBe(200);
    }
  });

  it('the integrator ingress needs the integrator role; a down function answers 502 problem+json', async () => {
    const denied = await edgeRequest(edge, 'events', {
      method: 'POST',
      path: '/',
      headers: bearer(tokens.viewer ?? ''),
    });
    expectProblem(denied, 403, 'forbidden');
    const down = await edgeRequest(edge, 'events', {
      method: 'POST',
      path: '/',
      headers: bearer(tokens.integrator ?? ''),
    });
    expectProblem(down, 502, 'dependency_unavailable');
    expect(down.headers['retry-after']).toBe('5');
  });

  it('writes with a body keep the edge-auth connection usable (an anonymous then an authenticated write)', async () => {
    // Regression: nginx forwarded the client's Content-Length on the bodiless auth subrequest, so
    // edge-auth waited for bytes that never came and read the next subrequest as them (400 → 503).
    const key = 'rate-anime PUT /anime/:id/rating';
    const before = await servedOn(key);
    for (let round = 0; round < 3; round++) {
      const anonymous = await edgeRequest(edge, 'api', {
        method: 'PUT',
        path: '/anime/1/rating',
        body: '{"score":7}',
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(anonymous, 401, 'unauthenticated');
      const signedIn = await edgeRequest(edge, 'api', {
        method: 'PUT',
        path: '/anime/1/rating',
        body: '{"score":7}',
        headers: { 'content-type': 'application/json', ...bearer(tokens.viewer ?? '') },
      });
      expect(signedIn.status, signedIn.body).toBe(200);
      expect(signedIn.json()).toMatchObject({ animeId: 1, rating: { score: 7 } });
    }
    expect(await servedOn(key)).toBe(before + 3);
  });

  it('anonymous reads of public routes pass, and reach the function', async () => {
    const key = 'catalog GET /anime';
    const before = await servedOn(key);
    const res = await edgeRequest(edge, 'api', { path: '/anime?q=frieren' });
    expect(res.status).toBe(200);
    expect(await servedOn(key)).toBe(before + 1);
  });
});

describe('the JWT attack suite: 401 at the edge, never reaching a function', () => {
  it('control: a forged token with every claim right passes (so each case fails only on its claim)', async () => {
    const res = await edgeRequest(edge, 'api', { ...PROTECTED, headers: bearer(await forge({})) });
    expect(res.status, res.body).toBe(200);
    expect(res.json()).toMatchObject({ username: 'viewer1' });
  });

  const realKid = () => decodeProtectedHeader(tokens.viewer ?? '').kid ?? '';
  const cases: [string, () => Promise<string | undefined>][] = [
    [
      'alg none',
      async () =>
        `${b64url({ alg: 'none', typ: 'JWT', kid: realKid() })}.${b64url({ ...template, exp: now() + 300 })}.`,
    ],
    [
      'HS256 signed with the realm public key',
      async () => {
        const jwks = (await (await fetch(env.OIDC_JWKS_URI ?? '')).json()) as { keys: { kid: string }[] };
        const jwk = jwks.keys.find((k) => k.kid === realKid());
        const publicPem = createPublicKey({ key: jwk as never, format: 'jwk' })
          .export({ type: 'spki', format: 'pem' })
          .toString();
        const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: realKid() })}.${b64url({ ...template, exp: now() + 300 })}`;
        return `${input}.${createHmac('sha256', publicPem).update(input).digest('base64url')}`;
      },
    ],
    ['expired', () => forge({ iat: now() - 600, exp: now() - 120 })],
    ['nbf in the future', () => forge({ nbf: now() + 120 })],
    ['wrong iss', () => forge({ iss: `${env.KEYCLOAK_URL}/realms/not-isekai` })],
    ['wrong aud', () => forge({ aud: 'account' })],
    ['unknown kid', () => forge({}, { kid: 'no-such-key-in-this-realm' })],
    [
      'tampered payload (roles added to a real token)',
      async () => {
        const [h, , s] = (tokens.viewer ?? '').split('.');
        const payload = { ...template, realm_access: { roles: ['viewer', 'admin', 'moderator'] } };
        return `${h}.${b64url(payload)}.${s}`;
      },
    ],
    [
      'a token from another realm',
      async () => (await passwordToken(otherRealm, 'viewer1', DEV_USERS.viewer1.password)).access_token,
    ],
    ['no token on a protected route', async () => undefined],
  ];

  it.each(cases)('%s', async (_name, make) => {
    const token = await make();
    const before = await hits();
    const res = await edgeRequest(edge, 'api', { ...PROTECTED, headers: token ? bearer(token) : {} });
    expectProblem(res, 401, 'unauthenticated');
    // Exactly edge-auth's challenge, once (node would join a duplicate with ", ").
    expect(res.headers['www-authenticate']).toBe(
      token ? 'Bearer realm="isekai", error="invalid_token"' : 'Bearer realm="isekai"',
    );
    expect(await hits()).toBe(before);
  });
});

describe('identity headers, limits and errors', () => {
  it('client-supplied identity headers grant nothing: the function answers for the token, the edge for its roles', async () => {
    // nginx replaces X-Auth-* with edge-auth's answer (nginx/locations.ts proxyHeaders); the functions
    // read the caller from the token they verify themselves, so what a spoof could change is observable
    // only in their answers: /me names the token's user, an admin route stays refused, nothing anonymous
    // gets through.
    const spoof = { 'x-auth-user-id': 'someone-else', 'x-auth-roles': 'admin', 'x-auth-user-name': 'root' };
    const signedIn = await edgeRequest(edge, 'api', {
      ...PROTECTED,
      headers: { ...spoof, ...bearer(tokens.viewer ?? '') },
    });
    expect(signedIn.status, signedIn.body).toBe(200);
    expect(signedIn.json()).toMatchObject({ id: template.sub, username: 'viewer1' });
    const before = await hits();
    const adminRoute = await edgeRequest(edge, 'api', {
      method: 'PUT',
      path: `/subtitles/uploaders/${template.sub}`,
      body: '{"trusted":true}',
      headers: { ...spoof, 'content-type': 'application/json', ...bearer(tokens.viewer ?? '') },
    });
    expectProblem(adminRoute, 403, 'forbidden');
    expectProblem(await edgeRequest(edge, 'api', { ...PROTECTED, headers: spoof }), 401, 'unauthenticated');
    expect(await hits()).toBe(before);
  });

  it('bodies over the route limit get 413 problem+json at the edge (64 KiB default, 16 MiB uploads)', async () => {
    const before = await hits();
    const small = await edgeRequest(edge, 'api', {
      method: 'PUT',
      path: '/me/library/1',
      headers: { ...bearer(tokens.viewer ?? ''), 'content-type': 'application/json' },
      body: Buffer.alloc(100 * 1024, 0x20),
    });
    expectProblem(small, 413, 'payload_too_large');
    // Chunked (no Content-Length): nginx counts while reading, before proxying anything.
    const chunked = await edgeRequest(edge, 'api', {
      method: 'POST',
      path: '/uploads',
      headers: { ...bearer(tokens.uploader ?? ''), 'transfer-encoding': 'chunked' },
      body: Buffer.alloc(16 * 1024 * 1024 + 1, 0x41),
    });
    expectProblem(chunked, 413, 'payload_too_large');
    expect(await hits()).toBe(before);
    // 1 MiB passes the edge and reaches upload-subtitle, which judges it (not a multipart form: 4xx).
    const upload = await edgeRequest(edge, 'api', {
      method: 'POST',
      path: '/uploads',
      headers: { ...bearer(tokens.uploader ?? ''), 'content-type': 'multipart/form-data; boundary=x' },
      body: Buffer.alloc(1024 * 1024, 0x41),
    });
    expect(upload.status, upload.body).not.toBe(413);
    expect(upload.status).toBeLessThan(500);
    expect(await servedOn('upload-subtitle POST /uploads')).toBe(1);
  });

  it('nginx answers unknown routes with 404 problem+json; HTTP redirects to HTTPS', async () => {
    expectProblem(await edgeRequest(edge, 'api', { path: '/no/such/route' }), 404, 'not_found');
    // A decoded CR LF in the path would inject headers into the auth subrequest: refused.
    const before = await hits();
    const injected = await edgeRequest(edge, 'api', { path: '/anime/1%0d%0aX-Original-Host:%20events.x' });
    expectProblem(injected, 400, 'validation_failed');
    expect(await hits()).toBe(before);
    const plain = await new Promise<IncomingMessage>((resolve, reject) =>
      httpRequest(
        { host: '127.0.0.1', port: edge.httpPort, path: '/anime', headers: { host: 'api.isekai.localhost' } },
        resolve,
      )
        .on('error', reject)
        .end(),
    );
    plain.resume();
    expect(plain.statusCode).toBe(301);
    expect(plain.headers.location).toBe(`https://api.isekai.localhost:${edge.port}/anime`);
  });

  it('responses carry security headers and are compressed; the site has a CSP', async () => {
    const res = await edgeRequest(edge, 'api', {
      path: '/anime?perPage=50',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    const site = await edgeRequest(edge, '', { path: '/' });
    expect(site.status).toBe(200);
    expect(site.headers['content-security-policy']).toContain("default-src 'self'");
    expect(site.headers['referrer-policy']).toBe('strict-origin-when-cross-origin');
  });

  it('passes the trace on: the function and the JSON access log share the trace id', async () => {
    // The function answers with the traceparent of the trace it joined (functions/lib/http/http-function.ts).
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await edgeRequest(edge, 'api', {
      path: '/anime/1',
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01`, 'user-agent': 'edge-test-trace' },
    });
    expect(res.status).toBe(200);
    expect(String(res.headers.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-0[01]$`));
    // Without one, the edge starts a trace from its request id, and the function joins it.
    const fresh = await edgeRequest(edge, 'api', {
      path: '/anime/2',
      headers: { 'user-agent': 'edge-test-fresh' },
    });
    const requestId = String(fresh.headers['x-request-id']);
    expect(String(fresh.headers.traceparent)).toMatch(new RegExp(`^00-${requestId}-[0-9a-f]{16}-0[01]$`));
    // An invalid one is replaced the same way.
    const invalid = await edgeRequest(edge, 'api', {
      path: '/anime/3',
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-1`, 'user-agent': 'edge-test-invalid' },
    });
    const invalidId = String(invalid.headers['x-request-id']);
    expect(String(invalid.headers.traceparent)).toMatch(new RegExp(`^00-${invalidId}-[0-9a-f]{16}-0[01]$`));
    const lines = await accessLogLines();
    const line = lines.find((l) => l.user_agent === 'edge-test-trace');
    expect(line).toMatchObject({ trace_id: traceId, status: 200, method: 'GET', uri: '/anime/1' });
    expect(lines.find((l) => l.user_agent === 'edge-test-fresh')).toMatchObject({ trace_id: requestId });
    expect(lines.find((l) => l.user_agent === 'edge-test-invalid')).toMatchObject({ trace_id: invalidId });
    expect(Number(line?.upstream_response_time)).toBeGreaterThanOrEqual(0);
  });

  it('caches the auth answer: the same token and route class is answered from the cache', async () => {
    const token = await forge({});
    for (const id of [1, 2, 3])
      await edgeRequest(edge, 'api', {
        path: `/anime/${id}`,
        headers: { ...bearer(token), 'user-agent': 'cache-probe' },
      });
    const statuses = (await accessLogLines())
      .filter((l) => l.user_agent === 'cache-probe')
      .map((l) => l.auth_cache);
    expect(statuses).toEqual(['MISS', 'HIT', 'HIT']);
  });

  it('keys the auth cache by a hash of the Authorization header: no cache file holds the token', async () => {
    const token = await forge({});
    await edgeRequest(edge, 'api', { path: '/me', headers: bearer(token) });
    // nginx/edge.js tokenHash: MD5 of the header's bytes, base64url; a file's `KEY:` line holds the key as text.
    const hash = createHash('md5').update(`Bearer ${token}`).digest('base64url');
    const dir = join(edge.prefix, 'auth-cache');
    const files = (await readdir(dir, { recursive: true, withFileTypes: true })).filter((f) => f.isFile());
    const contents = await Promise.all(files.map((f) => readFile(join(f.parentPath, f.name), 'latin1')));
    expect(contents.some((c) => c.includes(`\nKEY: ${hash}|api|GET|`))).toBe(true);
    const signature = token.split('.')[2] ?? '';
    expect(contents.filter((c) => c.includes(signature) || c.includes(token))).toEqual([]);
  });

  it('streams Server-Sent Events unbuffered: the first frame arrives while the stream stays open', async () => {
    // The notifications function writes `retry:` and `: connected` and keeps the response open (a
    // heartbeat every 15 s): a buffering proxy would hold those bytes. No function speaks WebSocket, so
    // the Upgrade header nginx passes on stream routes is not exercised here.
    const { first, open } = await new Promise<{ first: string; open: boolean }>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: '127.0.0.1',
          port: edge.port,
          servername: 'api.isekai.localhost',
          ca: edge.ca,
          agent: false,
          path: '/notifications/stream',
          headers: { host: 'api.isekai.localhost', ...bearer(tokens.viewer ?? '') },
        },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
          res.once('data', (chunk: Buffer) => {
            resolve({ first: chunk.toString(), open: !res.complete });
            res.destroy();
          });
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(first).toContain(': connected');
    expect(open).toBe(true);
  });
});

describe('expired access tokens: refused once past the 30 s leeway, whatever the auth cache holds', () => {
  /** GET /me with `token`, tagged for the access log; the status and the auth cache status nginx logged. */
  async function probe(token: string, tag: string): Promise<{ status: number; cache: unknown }> {
    const res = await edgeRequest(edge, 'api', {
      ...PROTECTED,
      headers: { ...bearer(token), 'user-agent': tag },
    });
    const lines = (await accessLogLines()).filter((l) => l.user_agent === tag);
    return { status: res.status, cache: lines.at(-1)?.auth_cache };
  }
  /** Wait (polling the clock, with a deadline) until the epoch second reaches `second`. */
  const until = (second: number) =>
    expect.poll(() => now() >= second, { timeout: (second - now() + 3) * 1000, interval: 100 }).toBe(true);

  it('a token accepted inside the leeway (exp+28) is not cached, and is refused at exp+31', async () => {
    const exp = now() - 28;
    const token = await forge({ iat: exp - 300, exp });
    const tag = `expiry-leeway-${exp}`;
    expect(await probe(token, tag)).toEqual({ status: 200, cache: 'MISS' });
    // X-Accel-Expires 0 (no life left): nginx keeps nothing, the next call asks edge-auth again.
    expect(await probe(token, tag)).toEqual({ status: 200, cache: 'MISS' });
    await until(exp + 31);
    expect(await probe(token, tag)).toEqual({ status: 401, cache: 'MISS' });
  });

  it('a cached answer never outlives the token’s exp (so nothing passes after exp+30)', async () => {
    const exp = now() + 2;
    const token = await forge({ iat: exp - 300, exp });
    const tag = `expiry-cache-${exp}`;
    expect(await probe(token, tag)).toEqual({ status: 200, cache: 'MISS' });
    expect(await probe(token, tag)).toEqual({ status: 200, cache: 'HIT' });
    await until(exp + 1);
    // Past exp the cached answer is gone: edge-auth judges again (still inside the leeway: 200).
    const after = await probe(token, tag);
    expect(after.status).toBe(200);
    expect(after.cache).not.toBe('HIT');
  });
});

describe('rate limits (last: they spend this client address)', () => {
  async function burst(count: number, headers: Record<string, string>): Promise<EdgeResponse[]> {
    const agent = new Agent({ keepAlive: true, maxSockets: 16, ca: edge.ca });
    const one = () =>
      new Promise<EdgeResponse>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port: edge.port,
            servername: 'api.isekai.localhost',
            agent,
            path: '/anime',
            headers: { host: 'api.isekai.localhost', ...headers },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const raw = Buffer.concat(chunks);
              const body = raw.toString();
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                body,
                raw,
                json: () => JSON.parse(body),
              });
            });
          },
        );
        req.on('error', reject);
        req.end();
      });
    try {
      return await Promise.all(Array.from({ length: count }, one));
    } finally {
      agent.destroy();
    }
  }

  it('per token: 429 problem+json with Retry-After once the burst is spent', async () => {
    const results = await burst(30, bearer(tokens.moderator ?? ''));
    const limited = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(10);
    expect(limited.length).toBeGreaterThan(0);
    const first = limited[0] as EdgeResponse;
    expectProblem(first, 429, 'rate_limited');
    expect(first.headers['retry-after']).toBe('1');
  });

  it('per client address: anonymous floods get 429', async () => {
    const results = await burst(300, {});
    expect(results.filter((r) => r.status === 429).length).toBeGreaterThan(50);
  });
});

describe('signing-key rotation in Keycloak', () => {
  it('is picked up without restarting edge-auth, the functions or nginx', async () => {
    // The whole system on a realm of its own (rotating the shared realm's key would disturb other files).
    const rotationFunctions = await startRealFunctions({ ...env, ...otherRealm }, 'edgerotation');
    const rotationEdge = await startTestEdge('edge-rotation', {
      functions: rotationFunctions.ports,
      defaultPort: await freePort(),
      keycloakUrl: env.KEYCLOAK_URL ?? '',
    });
    try {
      const login = async () =>
        (await passwordToken(otherRealm, 'viewer1', DEV_USERS.viewer1.password)).access_token;
      const call = (token: string) =>
        edgeRequest(rotationEdge, 'api', { ...PROTECTED, headers: bearer(token) });
      const before = await login();
      const first = await call(before);
      expect({ status: first.status, body: first.body }).toMatchObject({ status: 200 });

      const rotated = await rotateRealmKey(otherRealm);
      const after = await login();
      expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
      // edge-auth refetches the JWKS on an unknown kid at most every 5 s: poll with a deadline.
      const deadline = Date.now() + 15_000;
      let status = 0;
      while (Date.now() < deadline) {
        status = (await call(after)).status;
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 1_100)); // past the 1 s failure cache
      }
      expect(status).toBe(200);
      // The old key is passive: tokens issued before the rotation still pass.
      const old = await call(before);
      expect({ status: old.status, body: old.body }).toMatchObject({ status: 200 });
    } finally {
      await rotationEdge.stop();
      await rotationFunctions.stop();
    }
  });
});
