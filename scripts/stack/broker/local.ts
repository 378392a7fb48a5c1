/**
 * The event broker of `npm start`. With a RabbitMQ (`amqpUrl`): the real data plane driven by
 * knative/base (exchange, a queue per Trigger, dispatchers to the local function processes, dead
 * letters to `dead-letters`). Without one: a stand-in ingress on the same port that answers every event
 * 503 `dependency_unavailable`, so producers keep their events in the outbox (publishCommitted leaves
 * them unpublished), integrator-ingress answers 503 (integrators retry), and outbox-relay publishes
 * everything once the stack is restarted with AMQP_URL. K_SINK is the same URL either way.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PROBLEM_MEDIA_TYPE } from '../../../functions/lib/problem.ts';
import { functionNames } from '../../build.ts';
import { startBrokerThreads } from './threads.ts';

export interface LocalBrokerOptions {
  /** RabbitMQ URL (`AMQP_URL`); undefined → no broker: events wait in the outbox. */
  readonly amqpUrl: string | undefined;
  /** Ingress port (PORTS.broker). */
  readonly port: number;
  /** Where a function listens locally (scripts/stack/ports.ts `functionPort`). */
  readonly functionPort: (name: string) => number;
  /** Functions running here (default: every functions/<name>/index.ts); other subscribers' queues fill. */
  readonly services?: readonly string[];
  readonly logLevel?: string;
}

export interface LocalBroker {
  /** K_SINK for every producer: `http://127.0.0.1:<port>/isekai/default`. */
  readonly ingressUrl: string;
  /** What runs: the RabbitMQ data plane, or the 503 stand-in. */
  readonly mode: 'rabbitmq' | 'outbox-only';
  stop(): Promise<void>;
}

/**
 * Start the local broker for `npm start`.
 * @example const broker = await startLocalBroker({ amqpUrl: process.env.AMQP_URL, port: PORTS.broker, functionPort });
 *          env.K_SINK = broker.ingressUrl; stops.push(broker.stop);
 */
export async function startLocalBroker(options: LocalBrokerOptions): Promise<LocalBroker> {
  if (!options.amqpUrl) return startStandIn(options.port);
  const services = options.services ?? (await functionNames());
  // Ingress and dispatchers each on a worker thread of their own (threads.ts): this thread runs the
  // embedded servers of `npm start`.
  const broker = await startBrokerThreads({
    amqpUrl: options.amqpUrl,
    port: options.port,
    subscribers: services.map((s) => `${s}=http://127.0.0.1:${options.functionPort(s)}/`).join(','),
    env: { LOG_LEVEL: options.logLevel ?? 'info' },
  });
  return { ingressUrl: broker.sink, mode: 'rabbitmq', stop: () => broker.close() };
}

async function startStandIn(port: number): Promise<LocalBroker> {
  const problem = JSON.stringify({
    type: 'https://isekai.dev/problems/dependency_unavailable',
    title: 'Service temporarily unavailable',
    status: 503,
    code: 'dependency_unavailable',
    detail: 'no event broker in this local stack (AMQP_URL is not set): events wait in the outbox',
  });
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(503, { 'content-type': PROBLEM_MEDIA_TYPE, 'retry-after': '60' }).end(problem);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    ingressUrl: `http://127.0.0.1:${bound}/isekai/default`,
    mode: 'outbox-only',
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
