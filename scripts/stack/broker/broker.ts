/**
 * The local broker data plane: the topology of every Broker and Trigger declared on a real RabbitMQ, the
 * ingress on one HTTP port, a dispatcher per trigger queue and per dead-letter queue. eventing-rabbitmq
 * runs the ingress and the dispatchers as separate pods; `role` runs one side here (`threads.ts` puts
 * each on a thread of its own), the default `all` both on the caller's thread (tests).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runtime } from '../../../functions/lib/runtime.ts';
import type { BrokerDef, ServiceDestination, TriggerDef } from '../../manifests/knative-types.ts';
import { loadManifests, ofKind } from '../../manifests/load.ts';
import { AmqpLink } from './amqp.ts';
import { startDispatcher } from './dispatcher.ts';
import { createIngress } from './ingress.ts';
import { type BrokerTopology, declareTopology, planTopology } from './topology.ts';

export interface BrokerOptions {
  readonly runtime: Runtime;
  readonly amqpUrl: string;
  readonly brokers: readonly BrokerDef[];
  readonly triggers: readonly TriggerDef[];
  /** URL of a subscriber Service, or undefined when it does not run here (its queue still fills). */
  readonly resolve: (destination: ServiceDestination) => string | undefined;
  readonly port?: number;
  readonly host?: string;
  /** Stands in for the Kubernetes UIDs in exchange and queue names. */
  readonly uid?: string;
  readonly queueType?: 'quorum' | 'classic';
  /** Per-attempt delivery timeout (ms). */
  readonly timeoutMs?: number;
  /**
   * What runs here: `ingress` (HTTP server, publisher), `dispatch` (a dispatcher per queue, no server;
   * replies go to `ingressBase`), or `all` (default). Each side declares the whole topology itself.
   */
  readonly role?: BrokerRole;
  /** With role `dispatch`: the ingress's base URL (`http://127.0.0.1:<port>`), where replies are POSTed. */
  readonly ingressBase?: string;
}

/** Which side of the data plane a thread runs (eventing-rabbitmq: the ingress pod, the dispatcher pods). */
export type BrokerRole = 'all' | 'ingress' | 'dispatch';

export interface RunningBroker {
  readonly topologies: readonly BrokerTopology[];
  readonly link: AmqpLink;
  /** The ingress URL of a broker (`K_SINK` of its producers). */
  ingressUrl(namespace: string, broker: string): string;
  close(): Promise<void>;
}

/** Queue type from the broker's RabbitmqBrokerConfig (`spec.queueType`, default quorum as upstream). */
export function queueTypeOf(broker: BrokerDef, manifests = loadManifests()): 'quorum' | 'classic' {
  const config = ofKind(manifests, broker.config.kind).find(
    (m) =>
      m.object.metadata.name === broker.config.name &&
      m.object.metadata.namespace === broker.config.namespace,
  );
  const spec = config?.object.spec as { queueType?: string } | undefined;
  return spec?.queueType === 'classic' ? 'classic' : 'quorum';
}

/** Resolve subscribers from a `name=url,…` map (keys: `<service>` or `<namespace>/<service>`). */
export function subscriberMap(text: string): (d: ServiceDestination) => string | undefined {
  const map = new Map<string, string>();
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at < 1) throw new Error(`SUBSCRIBERS: expected name=url, got "${pair}"`);
    map.set(pair.slice(0, at), new URL(pair.slice(at + 1)).href);
  }
  return (d) => {
    const base = map.get(`${d.namespace}/${d.service}`) ?? map.get(d.service);
    return base && d.path ? new URL(d.path, base).href : base;
  };
}

export async function startBroker(options: BrokerOptions): Promise<RunningBroker> {
  const { runtime } = options;
  const topologies = options.brokers.map((b) =>
    planTopology(b, options.triggers, {
      uid: options.uid ?? 'local',
      queueType: options.queueType ?? 'quorum',
    }),
  );
  const link = new AmqpLink(options.amqpUrl, runtime.log);
  link.declare(async (channel) => {
    for (const topology of topologies) await declareTopology(channel, topology);
  });
  const role = options.role ?? 'all';
  let server: Server | undefined;
  let base: string;
  if (role === 'dispatch') {
    if (!options.ingressBase) throw new Error('startBroker: role dispatch needs ingressBase');
    base = options.ingressBase;
  } else {
    const ingress = createServer({ keepAliveTimeout: 65_000 }, createIngress({ runtime, link, topologies }));
    await new Promise<void>((resolve) =>
      ingress.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve),
    );
    server = ingress;
    base = `http://${options.host ?? '127.0.0.1'}:${(ingress.address() as AddressInfo).port}`;
  }
  const ingressUrl = (namespace: string, broker: string) => `${base}/${namespace}/${broker}`;

  for (const topology of role === 'ingress' ? [] : topologies) {
    for (const route of topology.routes) {
      const subscriberUrl = options.resolve(route.subscriber);
      if (!subscriberUrl) {
        runtime.log.warn(
          { trigger: route.name, subscriber: route.subscriber.service },
          'subscriber not running here; its queue fills until it does',
        );
        continue;
      }
      startDispatcher({
        runtime,
        link,
        route,
        subscriberUrl,
        ingressUrl: ingressUrl(topology.broker.namespace, topology.broker.name),
        ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      });
    }
  }
  try {
    await link.start();
  } catch (error) {
    server?.close();
    throw error;
  }
  runtime.log.info(
    { role, ingress: base, queues: topologies.flatMap((t) => t.routes.map((r) => r.queue)) },
    'broker ready',
  );
  return {
    topologies,
    link,
    ingressUrl,
    async close() {
      if (server) {
        const ingress = server;
        ingress.closeAllConnections();
        await new Promise((resolve) => ingress.close(resolve));
      }
      await link.close();
    },
  };
}
