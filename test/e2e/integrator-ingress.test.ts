import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { integratorIngressFromEnv } from '../../functions/integrator-ingress/settings.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import { type LocalBroker, startLocalBroker } from '../../scripts/stack/broker.ts';
import { clientCredentialsToken } from '../setup/keycloak-client.ts';
import { aired, post, type Subscriber, startSubscriber, waitFor } from './events-support.ts';

/**
 * A partner's path end to end: a real Keycloak client-credentials token (client isekai-integrations,
 * role integrator) → integrator-ingress on the lean host → the broker `npm start` runs
 * (scripts/stack/broker.ts: knative/base topology on the real RabbitMQ) → the Trigger
 * notify-episode-aired → the `notify` subscriber, in binary mode.
 */
const env = inject('env');
let broker: LocalBroker;
let notify: Subscriber;
let ingress: Server;
let url = '';

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
});
afterAll(async () => {
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
