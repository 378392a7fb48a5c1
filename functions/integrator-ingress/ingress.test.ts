import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { eventSpec } from '../../events/catalogue.ts';
import { createTokenVerifier } from '../lib/auth/token-verifier.ts';
import { createHostServer } from '../lib/host/server.ts';
import { integratorOf, speaksFor } from './ingress.ts';
import { integratorIngressFromEnv } from './settings.ts';

/**
 * The integrator ingress over the wire, on functions-framework's test server and on the lean host:
 * events encoded by the `cloudevents` SDK (as an integrator's client would), tokens signed here and
 * checked by the shared verifier (local JWKS), events forwarded to a local sink standing in for the
 * broker ingress. The signed tokens look like Keycloak's client-credentials tokens: `azp` is the client
 * id as registered (`Airing-Bot`), `preferred_username` the lower-cased service account.
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
let signClaims: (claims: Record<string, unknown>, roles: string[]) => Promise<string>;

const CLIENT = 'Airing-Bot';
const SOURCE = `/integrators/${CLIENT}`;
/** A Keycloak-shaped client-credentials token of client `client`. */
const sign = (client: string, roles: string[]) =>
  signClaims({ azp: client, preferred_username: `service-account-${client.toLowerCase()}` }, roles);

type Fields = Record<string, unknown>;
/** The attributes of a valid episode.aired event (plain, so a test can break any of them). */
function event(overrides: Fields = {}): Fields {
  return {
    specversion: '1.0',
    id: `aired-${Math.random().toString(36).slice(2)}`,
    type: 'dev.isekai.episode.aired.v1',
    source: SOURCE,
    subject: '1',
    time: '2026-11-23T16:00:05Z',
    datacontenttype: 'application/json',
    data: { animeId: 1, episode: 6, airedAt: '2026-11-23T16:00:00Z' },
    ...overrides,
  };
}

/** The SDK's event (non-strict: the ingress, not the client library, is under test). */
const sdkEvent = (fields: Fields) => new CloudEvent(fields, false);

/** The SDK always sets `time`; an integrator that leaves it out sends the message without it. */
function withoutTime(message: Message): Message {
  const headers = { ...message.headers };
  delete headers['ce-time'];
  if (typeof message.body !== 'string' || !String(headers['content-type']).includes('cloudevents'))
    return { ...message, headers };
  const { time: _, ...rest } = JSON.parse(message.body);
  return { headers, body: JSON.stringify(rest) };
}

/** A batch (`application/cloudevents-batch+json`): the SDK's JSON format of each event, in an array. */
function batchOf(events: Fields[]): Message {
  return {
    headers: { 'content-type': 'application/cloudevents-batch+json' },
    body: JSON.stringify(events.map((e) => sdkEvent(e).toJSON())),
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
  signClaims = (claims, roles) =>
    new SignJWT({ typ: 'Bearer', ...claims, realm_access: { roles } })
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject(`sub-${String(claims.azp ?? claims.preferred_username)}`)
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

  async function send(message: Message, token?: string) {
    const res = await fetch(`${url}/`, {
      method: 'POST',
      headers: {
        ...(message.headers as Record<string, string>),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: message.body as string,
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
  }

  function publish(ev: Fields, token?: string, mode: 'binary' | 'structured' = 'binary') {
    const e = sdkEvent(ev);
    return send(mode === 'binary' ? HTTP.binary(e) : HTTP.structured(e), token);
  }

  const ok = () => sign(CLIENT, ['integrator']);
  const fieldsOf = (body: { errors?: { field: string }[] }) => (body.errors ?? []).map((e) => e.field);

  it('forwards a valid event to K_SINK in binary mode and answers 202', async () => {
    const ev = event({ partner: 'abc' });
    const res = await publish(ev, await ok());
    expect(res.status).toBe(202);
    expect(received).toHaveLength(1);
    const [got] = received;
    expect(got?.headers['content-type']).toBe('application/json');
    expect(got?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-id': ev.id,
      'ce-type': ev.type,
      'ce-source': SOURCE,
      'ce-subject': '1',
      'ce-time': '2026-11-23T16:00:05.000Z',
      'ce-partner': 'abc',
    });
    expect(JSON.parse(got?.body ?? '')).toEqual(ev.data);
  });

  it('accepts a structured-mode event and still forwards it in binary mode', async () => {
    const ev = event();
    const res = await publish(ev, await ok(), 'structured');
    expect(res.status).toBe(202);
    expect(received[0]?.headers['ce-id']).toBe(ev.id);
    expect(JSON.parse(received[0]?.body ?? '')).toEqual(ev.data);
  });

  it.each([
    'application/json;charset=UTF-8',
    'application/json; charset=utf-8',
    'Application/JSON',
    'APPLICATION/JSON; CHARSET="UTF-8"',
  ])('reads binary-mode data sent as %s (media types are case-insensitive)', async (contentType) => {
    const ev = event();
    const message = HTTP.binary(sdkEvent(ev));
    const res = await send(
      { ...message, headers: { ...message.headers, 'content-type': contentType } },
      await ok(),
    );
    expect(res.status).toBe(202);
    expect(received[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received[0]?.body ?? '')).toEqual(ev.data);
  });

  it.each(['binary', 'structured'] as const)(
    'never gives a %s-mode event without time the arrival time',
    async (mode) => {
      const e = sdkEvent(event());
      const res = await send(
        withoutTime(mode === 'binary' ? HTTP.binary(e) : HTTP.structured(e)),
        await ok(),
      );
      expect(res.status).toBe(202);
      expect(received[0]?.headers['ce-id']).toBe(e.id);
      expect(received[0]?.headers).not.toHaveProperty('ce-time');
    },
  );

  it('accepts an event without subject (optional for episode.aired) and forwards it without one', async () => {
    const res = await publish(event({ subject: undefined }), await ok());
    expect(res.status).toBe(202);
    expect(received[0]?.headers).not.toHaveProperty('ce-subject');
  });

  it('delivers every event of a valid batch, in order, and answers 202', async () => {
    const events = [1, 2, 3].map((episode) => event({ data: { ...(event().data as Fields), episode } }));
    const res = await send(batchOf(events), await ok());
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ accepted: 3 });
    expect(received.map((r) => r.headers['ce-id'])).toEqual(events.map((e) => e.id));
    expect(received.map((r) => JSON.parse(r.body).episode)).toEqual([1, 2, 3]);
  });

  it('refuses a whole batch with 400 naming every bad entry, publishing nothing', async () => {
    const good = event();
    const badEpisode = event({ data: { ...(good.data as Fields), episode: 0 } });
    const slug = event({ data: { ...(good.data as Fields), animeId: 'cowboy-bebop' } });
    const res = await send(batchOf([good, badEpisode, slug]), await ok());
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(fieldsOf(res.body)).toEqual(['/1/data/episode', '/2/data/animeId']);
    expect(received).toHaveLength(0);
  });

  it("refuses a whole batch with 403 when one entry claims another integrator's source", async () => {
    const res = await send(batchOf([event(), event({ source: '/integrators/someone-else' })]), await ok());
    expect(res.status).toBe(403);
    expect(fieldsOf(res.body)).toEqual(['/1/source']);
    expect(received).toHaveLength(0);
  });

  it.each([
    ['an empty array', '[]'],
    ['an object instead of an array', '{}'],
    ['malformed JSON', '[{'],
  ])('answers 400 for a batch that is %s', async (_name, body) => {
    const res = await send(
      { headers: { 'content-type': 'application/cloudevents-batch+json' }, body },
      await ok(),
    );
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });

  it('answers 401 with a Bearer challenge when no token is sent, forwarding nothing', async () => {
    const res = await publish(event());
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('unauthenticated');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(received).toHaveLength(0);
  });

  it('takes the integrator from azp: a token without preferred_username publishes', async () => {
    const token = await signClaims({ azp: CLIENT }, ['integrator']);
    expect((await publish(event(), token)).status).toBe(202);
  });

  it.each<[string, () => Promise<string>, Fields, string | undefined]>([
    ['a token without the integrator role', () => sign(CLIENT, ['viewer']), {}, undefined],
    [
      'an outbound (Isekai-published) type',
      ok,
      {
        type: 'dev.isekai.rating.submitted.v1',
        data: eventSpec('dev.isekai.rating.submitted.v1')?.example,
      },
      '/type',
    ],
    [
      'an outbound type whose data is incomplete (the type decides before the data)',
      ok,
      { type: 'dev.isekai.rating.submitted.v1', data: { animeId: 1 } },
      '/type',
    ],
    ["another integrator's source", ok, { source: '/integrators/someone-else' }, '/source'],
    ['a source outside /integrators/', ok, { source: '/functions/library' }, '/source'],
    [
      'the client id spelled in another case (Keycloak matches client ids exactly)',
      ok,
      { source: '/integrators/airing-bot' },
      '/source',
    ],
    [
      'the service account username as source',
      ok,
      { source: '/integrators/service-account-airing-bot' },
      '/source',
    ],
    [
      'a token naming no client',
      () => signClaims({ preferred_username: 'service-account-airing-bot' }, ['integrator']),
      {},
      '/source',
    ],
  ])('answers 403 forbidden for %s, forwarding nothing', async (_name, token, change, field) => {
    const res = await publish(event(change), await token());
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('forbidden');
    if (field) expect(fieldsOf(res.body)).toContain(field);
    expect(received).toHaveLength(0);
  });

  it.each([
    [
      'an episode number out of range',
      { data: { ...(event().data as Fields), episode: 0 } },
      '/data/episode',
    ],
    ['a missing airedAt', { data: { animeId: 1, episode: 6 } }, '/data/airedAt'],
    [
      'a slug for the anime id',
      { subject: 'cowboy-bebop', data: { ...(event().data as Fields), animeId: 'cowboy-bebop' } },
      '/data/animeId',
    ],
    ['a subject that is not the anime', { subject: '2' }, '/subject'],
    ['an extension name over 20 characters', { partnerreferencenumber: 'x' }, '/partnerreferencenumber'],
  ])('answers 400 problem+json naming the field for %s', async (_name, change, field) => {
    const res = await publish(event(change), await ok());
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(fieldsOf(res.body)).toContain(field);
    expect(received).toHaveLength(0);
  });

  it('answers 503 dependency_unavailable while the broker fails, so the integrator retries', async () => {
    sinkStatus = 503;
    const res = await publish(event(), await ok());
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('dependency_unavailable');
  });
});

describe('integrator identity', () => {
  const identity = (clientId: string | undefined) => ({
    sub: 's',
    username: 'service-account-airing-bot',
    roles: [],
    clientId,
    exp: 0,
  });
  it.each([
    ['Airing-Bot', 'Airing-Bot'],
    ['isekai-integrations', 'isekai-integrations'],
    [undefined, undefined],
    ['', undefined],
  ])('a token of client %s speaks for %s', (clientId, client) => {
    expect(integratorOf(identity(clientId))).toBe(client);
  });
  it.each([
    ['/integrators/Airing-Bot', true],
    ['/integrators/airing-bot', false],
    ['/integrators/Airing-Bot/', false],
    ['/integrators/service-account-airing-bot', false],
  ])('source %s is client Airing-Bot: %s', (source, yes) => {
    expect(speaksFor(source, 'Airing-Bot')).toBe(yes);
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
