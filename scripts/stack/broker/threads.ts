/**
 * The broker data plane as eventing-rabbitmq lays it out — the ingress apart from the dispatchers — on
 * worker threads of one process: each side has its own event loop, V8 heap and AMQP connection, so a
 * burst of deliveries no longer queues behind the ingress's requests (or the reverse), and the two use
 * both cores. One process still: `kill -9` of it stops both sides at once, as the crash tests expect.
 * What `node scripts/stack/broker/main.ts` (ingress on its main thread) and `npm start` (both on workers:
 * its main thread runs the embedded servers) start.
 */
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import { createLogger } from '../../../functions/lib/logger.ts';
import type { Runtime } from '../../../functions/lib/runtime.ts';
import { subscriberMap } from './broker.ts';
import type { BrokerThreadData, BrokerThreadMessage } from './broker-thread.ts';
import { startBrokerFromManifests } from './from-manifests.ts';

export interface BrokerThreadsOptions {
  readonly amqpUrl: string;
  /** Manifests to read (default knative/base). */
  readonly knativeDir?: string;
  /** `service=url,…`: where each subscriber Service runs (the `SUBSCRIBERS` setting). */
  readonly subscribers: string;
  /** Ingress port (0 = any free port). */
  readonly port?: number;
  readonly host?: string;
  /** Per-attempt delivery timeout, ms (default 30 000). */
  readonly timeoutMs?: number;
  /**
   * The ingress's runtime when it runs on the calling thread (main.ts: a process of its own); without
   * one the ingress gets a worker of its own too. Workers build their runtime from `env`.
   */
  readonly runtime?: Runtime;
  /** Settings of the workers' runtimes (e.g. `{ LOG_LEVEL: 'info' }`); default the process environment. */
  readonly env?: Record<string, string>;
  /** A worker died (uncaught error or exit while running): default logs it; main.ts exits the process. */
  readonly onFailure?: (error: Error) => void;
}

export interface BrokerThreads {
  readonly brokers: readonly { readonly namespace: string; readonly name: string }[];
  /** The ingress URL of a broker (`K_SINK` of its producers). */
  ingressUrl(namespace: string, broker: string): string;
  /** `K_SINK` of the first Broker declared. */
  readonly sink: string;
  /** Stop the ingress and the dispatchers (their links close; unacked deliveries are redelivered). */
  close(): Promise<void>;
}

/**
 * Start the ingress (on this thread when `runtime` is given, else on a worker) and every dispatcher on
 * one worker; resolves when both sides are connected to RabbitMQ.
 * @example const b = await startBrokerThreads({ amqpUrl, port: 8090, subscribers: 'notify=http://127.0.0.1:8101' });
 */
export async function startBrokerThreads(options: BrokerThreadsOptions): Promise<BrokerThreads> {
  const log =
    options.runtime?.log ??
    createLogger({ service: 'broker', level: options.env?.LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info' });
  const onFailure =
    options.onFailure ??
    ((error: Error) => log.error({ code: 'internal', err: error }, 'broker thread died'));
  const common = {
    amqpUrl: options.amqpUrl,
    subscribers: options.subscribers,
    ...(options.knativeDir === undefined ? {} : { knativeDir: options.knativeDir }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.env === undefined ? {} : { env: options.env }),
  };
  const ingressSide = { role: 'ingress', ...common } as const;
  const listen = {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
  };

  let ingress: { base: string; brokers: BrokerThreads['brokers']; close(): Promise<void> };
  if (options.runtime) {
    const resolve = subscriberMap(options.subscribers);
    const running = await startBrokerFromManifests({
      ...ingressSide,
      ...listen,
      runtime: options.runtime,
      subscriberUrl: (service, namespace) => resolve({ service, namespace }),
    });
    ingress = {
      base: new URL(running.sink).origin,
      brokers: running.topologies.map((t) => ({ namespace: t.broker.namespace, name: t.broker.name })),
      close: () => running.close(),
    };
  } else {
    ingress = await startThread({ ...ingressSide, ...listen }, onFailure);
  }
  let dispatch: Awaited<ReturnType<typeof startThread>>;
  try {
    dispatch = await startThread({ role: 'dispatch', ...common, ingressBase: ingress.base }, onFailure);
  } catch (error) {
    await ingress.close();
    throw error;
  }
  const ingressUrl = (namespace: string, broker: string) => `${ingress.base}/${namespace}/${broker}`;
  const first = ingress.brokers[0];
  return {
    brokers: ingress.brokers,
    ingressUrl,
    sink: first ? ingressUrl(first.namespace, first.name) : ingress.base,
    async close() {
      await Promise.all([dispatch.close(), ingress.close()]);
    },
  };
}

/** Start `broker-thread.ts` with `data`; resolves once it reports ready. */
async function startThread(data: BrokerThreadData, onFailure: (error: Error) => void) {
  const worker = new Worker(new URL('./broker-thread.ts', import.meta.url), {
    workerData: data,
    name: `broker-${data.role}`,
  });
  let closing = false;
  const message = await new Promise<BrokerThreadMessage>((resolve, reject) => {
    const early = (code: number) =>
      reject(new Error(`broker ${data.role} thread exited (${code}) before it was ready`));
    worker.once('exit', early);
    worker.once('error', reject);
    worker.once('message', (m: BrokerThreadMessage) => {
      worker.off('exit', early);
      worker.off('error', reject);
      resolve(m);
    });
  });
  if (message.type === 'failed') {
    await worker.terminate();
    throw new Error(`broker ${data.role} thread: ${message.message}`);
  }
  worker.on('error', (error) => {
    if (!closing) onFailure(error);
  });
  worker.on('exit', (code) => {
    if (!closing) onFailure(new Error(`broker ${data.role} thread exited (${code})`));
  });
  return {
    base: message.base,
    brokers: message.brokers,
    /** Ask the thread to close its link; terminate it when that takes more than 5 s. */
    async close() {
      if (closing) return;
      closing = true;
      const exited = once(worker, 'exit');
      worker.postMessage('close');
      const timer = setTimeout(() => void worker.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
