/**
 * One side of the broker data plane on a worker thread (started by `threads.ts`, never run directly):
 * `workerData` is a {@link BrokerThreadData}; posts `{ type: 'ready', base, brokers }` once its AMQP link is
 * up (or `{ type: 'failed', message }`), and closes its link and exits on the message `'close'`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRuntime } from '../../../functions/lib/runtime.ts';
import { subscriberMap } from './broker.ts';
import { startBrokerFromManifests } from './from-manifests.ts';

/** What a broker thread is told (structured-clonable: no functions). */
export interface BrokerThreadData {
  readonly role: 'ingress' | 'dispatch';
  readonly amqpUrl: string;
  readonly knativeDir?: string;
  /** `service=url,…` (the `SUBSCRIBERS` format of main.ts); only the dispatch side reads it. */
  readonly subscribers: string;
  readonly port?: number;
  readonly host?: string;
  /** The ingress's base URL (dispatch side: where reply events go). */
  readonly ingressBase?: string;
  readonly timeoutMs?: number;
  /** The runtime's settings (LOG_LEVEL, ZIPKIN_URL…), all of them; default the process environment. */
  readonly env?: Record<string, string>;
}

/** What a broker thread answers once started. */
export type BrokerThreadMessage =
  | {
      readonly type: 'ready';
      readonly base: string;
      readonly brokers: readonly { readonly namespace: string; readonly name: string }[];
    }
  | { readonly type: 'failed'; readonly message: string };

const data = workerData as BrokerThreadData;
const port = parentPort;
if (!port) throw new Error('broker-thread.ts runs on a worker thread (see threads.ts)');
const runtime = createRuntime('broker', data.env === undefined ? {} : { env: data.env });
const resolve = subscriberMap(data.subscribers);
try {
  const running = await startBrokerFromManifests({
    runtime,
    role: data.role,
    amqpUrl: data.amqpUrl,
    subscriberUrl: (service, namespace) => resolve({ service, namespace }),
    ...(data.knativeDir === undefined ? {} : { knativeDir: data.knativeDir }),
    ...(data.port === undefined ? {} : { port: data.port }),
    ...(data.host === undefined ? {} : { host: data.host }),
    ...(data.ingressBase === undefined ? {} : { ingressBase: data.ingressBase }),
    ...(data.timeoutMs === undefined ? {} : { timeoutMs: data.timeoutMs }),
  });
  port.on('message', (message: unknown) => {
    if (message !== 'close') return;
    void running
      .close()
      .then(() => runtime.shutdown())
      .finally(() => port.close());
  });
  const sink = new URL(running.sink);
  port.postMessage({
    type: 'ready',
    base: sink.origin,
    brokers: running.topologies.map((t) => ({ namespace: t.broker.namespace, name: t.broker.name })),
  } satisfies BrokerThreadMessage);
} catch (error) {
  port.postMessage({ type: 'failed', message: String(error) } satisfies BrokerThreadMessage);
  port.close();
}
