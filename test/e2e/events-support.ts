/** Helpers shared by the events end-to-end tests: recording subscribers, polling, binary-mode posts. */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CloudEventV1 } from 'cloudevents';
import { toBinary } from '../../functions/lib/events/encode.ts';
import { createRuntime, type Runtime } from '../../functions/lib/runtime.ts';
import type { BrokerDef, TriggerDef } from '../../scripts/manifests/knative-types.ts';

export interface Received {
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface Subscriber {
  readonly url: string;
  readonly received: Received[];
  /** How to answer each request (default 204). */
  respond: (r: Received, res: ServerResponse) => void | Promise<void>;
  close(): Promise<void>;
}

/** An HTTP subscriber that records what it receives. */
export async function startSubscriber(): Promise<Subscriber> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { at: performance.now(), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      sub.received.push(r);
      void sub.respond(r, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sub: Subscriber = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received: [],
    respond: (_r, res) => {
      res.writeHead(204).end();
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return sub;
}

/** Poll `probe` until it returns true; fails naming `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  probe: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Check `probe` for `forMs` and fail naming `what` the first time it is false: the quiet period after the
 * last expected delivery, during which an unexpected one would show.
 */
export async function staysTrue(
  what: string,
  probe: () => boolean | Promise<boolean>,
  forMs: number,
): Promise<void> {
  const until = Date.now() + forMs;
  while (Date.now() < until) {
    if (!(await probe())) throw new Error(`${what}: broken during the quiet period`);
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!(await probe())) throw new Error(`${what}: broken at the end of the quiet period`);
}

/** POST an event to an ingress in binary mode. */
export function post(
  url: string,
  event: CloudEventV1<unknown>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const message = toBinary(event);
  return fetch(url, { method: 'POST', headers: { ...message.headers, ...headers }, body: message.body });
}

let serial = 0;
/** A valid dev.isekai.episode.aired.v1 event with a fresh id. */
export function aired(episode: number, extra: Record<string, string> = {}): CloudEventV1<unknown> {
  serial += 1;
  return {
    specversion: '1.0',
    id: `aired-${process.pid}-${serial}-${episode}`,
    type: 'dev.isekai.episode.aired.v1',
    source: '/integrators/e2e',
    subject: '1',
    datacontenttype: 'application/json',
    data: { animeId: 1, episode, airedAt: '2026-11-23T16:00:00Z' },
    ...extra,
  };
}

/** A broker definition like knative/base/300-broker.yaml, with the delivery the test needs. */
export function brokerDef(delivery?: BrokerDef['delivery']): BrokerDef {
  return {
    name: 'default',
    namespace: 'isekai',
    brokerClass: 'RabbitMQBroker',
    config: {
      apiVersion: 'eventing.knative.dev/v1alpha1',
      kind: 'RabbitmqBrokerConfig',
      name: 'c',
      namespace: 'isekai',
    },
    ...(delivery ? { delivery } : {}),
  };
}

/** A trigger on broker `default` delivering to `service`. */
export function trigger(
  name: string,
  filter: Record<string, string>,
  service: string,
  more: Partial<TriggerDef> = {},
): TriggerDef {
  return {
    name,
    namespace: 'isekai',
    broker: 'default',
    filter,
    subscriber: { service, namespace: 'isekai' },
    ...more,
  };
}

/** A quiet runtime for in-process brokers and functions (E2E_LOG_LEVEL=info to see their logs). */
export function quietRuntime(name: string): Runtime {
  return createRuntime(name, { env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent' } });
}

/** Unique suffix so each test's exchanges and queues are its own. */
export function uid(label: string): string {
  return `${label}${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
}
