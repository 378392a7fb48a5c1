import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { CloudEvent, HTTP, type Message } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { integratorIngressFromEnv } from '../../functions/integrator-ingress/settings.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import { type LocalBroker, startLocalBroker } from '../../scripts/stack/broker/local.ts';
import { clientCredentialsToken, createServiceClient, type ServiceClient } from '../setup/keycloak-client.ts';
import { aired, post, type Subscriber, startSubscriber, waitFor } from './events-support.ts';

/**
 * A partner's path end to end: a real Keycloak client-credentials token (client isekai-integrations,
 * role integrator; and a client created here with a mixed-case id) → integrator-ingress on the lean
 * host → the broker `npm start` runs (scripts/stack/broker/local.ts: knative/base topology on the real
 * RabbitMQ) → the Trigger notify-episode-aired → the `notify` subscriber, in binary mode. The
 * partner's messages are encoded by the `cloudevents` SDK, as a partner's client would.
 */
const env = inject('env');
let broker: LocalBroker;
let notify: Subscriber;
let ingress: Server;
let url = '';
let airingBot: ServiceClient;
let airingToken = '';

beforeAll(async () => {
  notify = await startSubscriber();
  const notifyPort = Number(new URL(notify.url).port);
  broker = await startLocalBroker({
    amqpUrl: env.AMQP_URL,
    port: 0,
    services: ['notify'],
    functionPort: (name) => (name === 'notify' ? notifyPort : 1),
    logLevel: process.env.E2E_LOG_LEVEL ?? 'silent',
  });
  http(
    'integrator-ingress',
    integratorIngressFromEnv({
      OIDC_ISSUER: env.OIDC_ISSUER,
      OIDC_AUDIENCE: env.OIDC_AUDIENCE,
      ...(env.OIDC_JWKS_URI ? { OIDC_JWKS_URL: env.OIDC_JWKS_URI } : {}),
      K_SINK: broker.ingressUrl,
      LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent',
    }),
  );
  ingress = createHostServer({ target: 'integrator-ingress' });
  await new Promise<void>((resolve) => ingress.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(ingress.address() as AddressInfo).port}/`;
  // Keycloak keeps the client id as registered (`azp`) but lower-cases the service account's username.
  airingBot = await createServiceClient(env, `Airing-Bot-${process.pid}-${Date.now().toString(36)}`, [
    'integrator',
  ]);
  airingToken = (await clientCredentialsToken(env, airingBot.clientId, airingBot.secret)).access_token;
});
afterAll(async () => {
  await airingBot?.remove();
  ingress?.closeAllConnections();
  await new Promise((resolve) => ingress?.close(resolve));
  await broker?.stop();
  await notify?.close();
});

describe('integrator-ingress with a real Keycloak token and the real broker', () => {
  it('delivers a partner’s episode.aired event to notify through RabbitMQ; refuses it without a token', async () => {
    expect(broker.mode).toBe('rabbitmq');
    const { access_token } = await clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID as string,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET as string,
    );
    const event = aired(6, { source: `/integrators/${env.KEYCLOAK_INTEGRATIONS_CLIENT_ID}` });

    expect((await post(url, event)).status).toBe(401);
    const accepted = await post(url, event, { authorization: `Bearer ${access_token}` });
    expect(accepted.status).toBe(202);

    await waitFor('notify to receive the event', () =>
      notify.received.some((r) => r.headers['ce-id'] === event.id),
    );
    const got = notify.received.filter((r) => r.headers['ce-id'] === event.id);
    expect(got).toHaveLength(1);
    expect(got[0]?.headers).toMatchObject({
      'content-type': 'application/json',
      'ce-type': 'dev.isekai.episode.aired.v1',
      'ce-source': '/integrators/isekai-integrations',
      'ce-subject': '1',
    });
    expect(JSON.parse(got[0]?.body ?? '')).toEqual(event.data);
  });
});

let serial = 0;
/** An episode.aired event of the mixed-case client, as the SDK builds it. */
function sdkAired(episode: number, overrides: Record<string, unknown> = {}): CloudEvent<unknown> {
  serial += 1;
  return new CloudEvent(
    {
      id: `airing-${process.pid}-${Date.now().toString(36)}-${serial}`,
      type: 'dev.isekai.episode.aired.v1',
      source: `/integrators/${airingBot.clientId}`,
      subject: '1',
      datacontenttype: 'application/json',
      data: { animeId: 1, episode, airedAt: '2026-11-23T16:00:00Z' },
      ...overrides,
    },
    false,
  );
}

async function send(message: Message, token = airingToken) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...(message.headers as Record<string, string>), authorization: `Bearer ${token}` },
    body: message.body as string,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const deliveredIds = () => new Set(notify.received.map((r) => r.headers['ce-id']));
const delivered = (id: string) => notify.received.filter((r) => r.headers['ce-id'] === id);

describe('integrator cases against Keycloak and RabbitMQ, the SDK as the client', () => {
  it('takes the integrator from the client id: Airing-Bot publishes as /integrators/Airing-Bot…, not in lower case', async () => {
    const payload = JSON.parse(Buffer.from(airingToken.split('.')[1] ?? '', 'base64url').toString());
    expect(payload.azp).toBe(airingBot.clientId);
    expect(payload.preferred_username).toBe(`service-account-${airingBot.clientId.toLowerCase()}`);

    const event = sdkAired(6);
    expect((await send(HTTP.binary(event))).status).toBe(202);
    await waitFor('notify to receive the Airing-Bot event', () => delivered(event.id).length === 1);

    const lower = sdkAired(6, { source: `/integrators/${airingBot.clientId.toLowerCase()}` });
    const refused = await send(HTTP.binary(lower));
    expect(refused.status).toBe(403);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual(['/source']);
  });

  it('delivers all three events of a batch, and refuses a batch with one bad entry without delivering any', async () => {
    const bad = [sdkAired(1), sdkAired(0), sdkAired(3)];
    const refused = await send({
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(bad.map((e) => e.toJSON())),
    });
    expect(refused.status).toBe(400);
    expect(refused.body.errors.map((e: { field: string }) => e.field)).toEqual(['/1/data/episode']);

    const good = [sdkAired(1), sdkAired(2), sdkAired(3)];
    const accepted = await send({
      headers: { 'content-type': 'application/cloudevents-batch+json' },
      body: JSON.stringify(good.map((e) => e.toJSON())),
    });
    expect(accepted.status).toBe(202);
    await waitFor('notify to receive the whole batch', () => good.every((e) => deliveredIds().has(e.id)));
    expect(good.map((e) => delivered(e.id).length)).toEqual([1, 1, 1]);
    expect(bad.filter((e) => deliveredIds().has(e.id))).toEqual([]);
  });

  it.each(['application/json;charset=UTF-8', 'application/json; charset=utf-8', 'Application/JSON'])(
    'delivers a binary-mode event sent as %s',
    async (contentType) => {
      const event = sdkAired(7);
      const message = HTTP.binary(event);
      const res = await send({ ...message, headers: { ...message.headers, 'content-type': contentType } });
      expect(res.status).toBe(202);
      await waitFor('notify to receive it', () => delivered(event.id).length === 1);
      expect(JSON.parse(delivered(event.id)[0]?.body ?? '')).toEqual(event.data);
    },
  );

  it('delivers an event without time or subject as sent: no arrival time, no subject invented', async () => {
    const event = sdkAired(8, { subject: undefined });
    const message = HTTP.binary(event);
    const headers = { ...message.headers };
    delete headers['ce-time'];
    expect((await send({ ...message, headers })).status).toBe(202);
    await waitFor('notify to receive it', () => delivered(event.id).length === 1);
    const [got] = delivered(event.id);
    expect(got?.headers).not.toHaveProperty('ce-time');
    expect(got?.headers).not.toHaveProperty('ce-subject');
  });
});
