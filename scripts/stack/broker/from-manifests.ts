/**
 * Start the broker data plane for the Brokers and Triggers declared in a `knative/` directory: what
 * `node scripts/stack/broker/main.ts` and `npm start` (scripts/stack/broker/local.ts) run.
 */
import { createRuntime, type Runtime } from '../../../functions/lib/runtime.ts';
import { brokers, KNATIVE_BASE, loadManifests, triggers } from '../../manifests/load.ts';
import { type BrokerRole, queueTypeOf, type RunningBroker, startBroker } from './broker.ts';

export interface ManifestBrokerOptions {
  /** RabbitMQ, e.g. `amqp://guest:guest@127.0.0.1:5672/%2F`. */
  readonly amqpUrl: string;
  /** Ingress port (0 = any free port). */
  readonly port?: number;
  readonly host?: string;
  /** Base URL of a subscriber Service running here, or undefined (its queue fills until it runs). */
  readonly subscriberUrl: (service: string, namespace: string) => string | undefined;
  /** Manifests to read (default knative/base). */
  readonly knativeDir?: string;
  readonly runtime?: Runtime;
  /** Per-attempt delivery timeout, ms (default 30 000). */
  readonly timeoutMs?: number;
  /** Which side runs on this thread (default both; see `threads.ts`). */
  readonly role?: BrokerRole;
  /** With role `dispatch`: the ingress's base URL, for reply events. */
  readonly ingressBase?: string;
}

export interface ManifestBroker extends RunningBroker {
  /** `K_SINK` of the first Broker declared (locally: `http://127.0.0.1:<port>/isekai/default`). */
  readonly sink: string;
}

/**
 * Declare the manifests' topology on RabbitMQ and start the ingress and a dispatcher per Trigger.
 * @example const b = await startBrokerFromManifests({ amqpUrl, port: 8135,
 *   subscriberUrl: (service) => `http://127.0.0.1:${functionPort(service)}` }); // b.sink, b.close()
 */
export async function startBrokerFromManifests(options: ManifestBrokerOptions): Promise<ManifestBroker> {
  const dir = options.knativeDir ?? KNATIVE_BASE;
  const manifests = loadManifests(dir);
  const defs = brokers(manifests);
  const first = defs[0];
  if (!first) throw new Error(`no Broker in ${dir}`);
  const running = await startBroker({
    runtime: options.runtime ?? createRuntime('broker'),
    amqpUrl: options.amqpUrl,
    brokers: defs,
    triggers: triggers(manifests),
    resolve: (d) => {
      const base = options.subscriberUrl(d.service, d.namespace);
      return base && d.path ? new URL(d.path, base).href : base;
    },
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    queueType: queueTypeOf(first, manifests),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.role === undefined ? {} : { role: options.role }),
    ...(options.ingressBase === undefined ? {} : { ingressBase: options.ingressBase }),
  });
  return Object.assign(running, { sink: running.ingressUrl(first.namespace, first.name) });
}
