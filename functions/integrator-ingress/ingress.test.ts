import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventSpec } from '../../events/catalogue.ts';
import { createTokenVerifier } from '../lib/auth/token-verifier.ts';
import { toBinary, toStructured } from '../lib/events/encode.ts';
import { createHostServer } from '../lib/host/server.ts';
import { integratorOf } from './ingress.ts';
import { integratorIngressFromEnv } from './settings.ts';

/**
 * The integrator ingress over the wire, on functions-framework's test server and on the lean host:
 * tokens signed here and checked by the shared verifier (local JWKS), events forwarded to a local sink
 * standing in for the broker ingress.
 */
const ISSUER = 'http://keycloak.test/realms/isekai';
const AUDIENCE = 'isekai-api';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}
const received: Received[] = [];
let sinkStatus = 202;
let sink: Server;
let sign: (username: string, roles: string[]) => Promise<string>;

function event(overrides: Record<string, unknown> = {}) {
  return {
    specversion: '1.0',
    id: `aired-${Math.random().toString(36).slice(2)}`,
    type: 'dev.isekai.episode.aired.v1',
    source: '/integrators/airing-bot',
    subject: '1',
    datacontenttype: 'application/json',
    data: { animeId: 1, episode: 6, airedAt: '2026-11-23T16:00:00Z' },
    ...overrides,
  };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  sign = (username, roles) =>
    new SignJWT({ typ: 'Bearer', preferred_username: username, realm_access: { roles } })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject(`sub-${username}`)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(privateKey);
  sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(sinkStatus).end();
    });
  });
  const sinkUrl = await listen(sink);
  const verifier = createTokenVerifier({
    issuer: ISSUER,
    audience: AUDIENCE,
    keys: createLocalJWKSet({ keys: [jwk] }),
  });
  http(
    'integrator-ingress',
    integratorIngressFromEnv(
      { OIDC_ISSUER: ISSUER, K_SINK: `${sinkUrl}/isekai/default`, LOG_LEVEL: 'silent' },
      { authenticate: verifier.authenticate },
    ),
  );
});
afterAll(() => close(sink));
beforeEach(() => {
  received.length = 0;
  sinkStatus = 202;
});

const hosts = {
  'functions-framework': () => getTestServer('integrator-ingress'),
  'lean host': () => createHostServer({ target: 'integrator-ingress' }),
};

describe.each(Object.entries(hosts))('integrator-ingress on %s', (_host, make) => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = make();
    url = await listen(server);
  });
  afterAll(() => close(server));

  async function publish(
    ev: ReturnType<typeof event>,
    token?: string,
    mode: 'binary' | 'structured' = 'binary',
  ) {
    const message = mode === 'binary' ? toBinary(ev) : toStructured(ev);
    const res = await fetch(`${url}/`, {
      method: 'POST',
      headers: { ...message.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: message.body,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  it('forwards a valid event to K_SINK in binary mode and answers 202', async () => {
    const ev = event({ partner: 'abc' });
    const res = await publish(ev, await sign('airing-bot', ['integrator']));
    expect(res.status).toBe(202);
    expect(received).toHaveLength(1);
    const [got] = received;
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': ev.id,
      'ce-type': ev.type,
      'ce-source': '/integrators/airing-bot',
      'ce-subject': '1',
      'ce-partner': 'abc',
    });
    expect(JSON.parse(got?.body ?? '')).toEqual(ev.data);
  });

  it('accepts a structured-mode event and still forwards it in binary mode', async () => {
    const ev = event();
    const res = await publish(ev, await sign('airing-bot', ['integrator']), 'structured');
    expect(res.status).toBe(202);
    expect(received[0]?.headers['ce-id']).toBe(ev.id);
    expect(JSON.parse(received[0]?.body ?? '')).toEqual(ev.data);
  });

  it('answers 401 with a Bearer challenge when no token is sent, forwarding nothing', async () => {
    const res = await publish(event());
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(received).toHaveLength(0);
  });

  it.each([
    ['a token without the integrator role', 'airing-bot', ['viewer'], {}, undefined],
    [
      'an outbound (Isekai-published) type',
      'airing-bot',
      ['integrator'],
      {
        type: 'dev.isekai.rating.submitted.v1',
        source: '/integrators/airing-bot',
        data: eventSpec('dev.isekai.rating.submitted.v1')?.example,
      },
      '/type',
    ],
    [
      "another integrator's source",
      'airing-bot',
      ['integrator'],
      { source: '/integrators/someone-else' },
      '/source',
    ],
    [
      'a source outside /integrators/',
      'airing-bot',
      ['integrator'],
      { source: '/functions/library' },
      '/source',
    ],
  ])('answers 403 forbidden for %s, forwarding nothing', async (_name, user, roles, change, field) => {
    const res = await publish(event(change), await sign(user, roles));
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('forbidden');
    if (field) expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(received).toHaveLength(0);
  });

  it.each([
    ['an episode number out of range', { data: { ...event().data, episode: 0 } }, '/data/episode'],
    ['a missing airedAt', { data: { animeId: 1, episode: 6 } }, '/data'],
    ['a subject that is not the anime', { subject: 'trigun' }, '/subject'],
    ['an extension name over 20 characters', { partnerreferencenumber: 'x' }, '/partnerreferencenumber'],
  ])('answers 400 problem+json naming the field for %s', async (_name, change, field) => {
    const res = await publish(event(change), await sign('airing-bot', ['integrator']));
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.some((e: { field: string }) => e.field.startsWith(field))).toBe(true);
    expect(received).toHaveLength(0);
  });

  it('answers 503 dependency_unavailable while the broker fails, so the integrator retries', async () => {
    sinkStatus = 503;
    const res = await publish(event(), await sign('airing-bot', ['integrator']));
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('dependency_unavailable');
  });
});

describe('integratorOf', () => {
  it.each([
    ['service-account-airing-bot', 'airing-bot'],
    ['airing-bot', 'airing-bot'],
  ])('%s speaks for %s', (username, client) => {
    expect(integratorOf({ sub: 's', username, roles: [], exp: 0 })).toBe(client);
  });
});

describe('start-up', () => {
  it.each([
    ['K_SINK', { OIDC_ISSUER: ISSUER }],
    ['OIDC_ISSUER', { K_SINK: 'http://127.0.0.1:1/isekai/default' }],
  ])('fails fast naming %s when it is missing', (setting, env) => {
    let failure: { code?: string; issues?: { field: string }[] } | undefined;
    try {
      integratorIngressFromEnv({ ...env, LOG_LEVEL: 'silent' });
    } catch (error) {
      failure = error as typeof failure;
    }
    expect(failure?.code).toBe('config_invalid');
    expect(failure?.issues?.map((i) => i.field)).toContain(setting);
  });
});
