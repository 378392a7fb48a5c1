/**
 * The local broker process: `node scripts/stack/broker/main.ts`.
 * Reads Broker, RabbitmqBrokerConfig and Trigger manifests from KNATIVE_DIR and runs their topology on
 * the RabbitMQ at AMQP_URL; the ingress listens on BROKER_PORT (`K_SINK` = http://127.0.0.1:<port>/<ns>/<broker>)
 * on the main thread, the dispatchers run on a worker thread (threads.ts).
 * `npm start` runs the same in process (scripts/stack/broker/local.ts).
 */

import { loadConfig, Type } from '../../../functions/lib/config.ts';
import { createRuntime } from '../../../functions/lib/runtime.ts';
import { KNATIVE_BASE } from '../../manifests/load.ts';
import { startBrokerThreads } from './threads.ts';

const Settings = Type.Object({
  AMQP_URL: Type.String({ pattern: '^amqps?://' }),
  BROKER_PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8090 }),
  BROKER_HOST: Type.String({ default: '127.0.0.1' }),
  /** `service=url,…`: where each subscriber Service runs locally. */
  SUBSCRIBERS: Type.String({ default: '' }),
  KNATIVE_DIR: Type.String({ default: KNATIVE_BASE }),
  /** Per-attempt delivery timeout in ms. */
  DELIVERY_TIMEOUT_MS: Type.Integer({ minimum: 1, default: 30_000 }),
});

const settings = loadConfig(Settings);
const runtime = createRuntime('broker');
// The ingress on this thread, the dispatchers on a worker (threads.ts): upstream's two pods, one process.
const running = await startBrokerThreads({
  runtime,
  amqpUrl: settings.AMQP_URL,
  knativeDir: settings.KNATIVE_DIR,
  subscribers: settings.SUBSCRIBERS,
  port: settings.BROKER_PORT,
  host: settings.BROKER_HOST,
  timeoutMs: settings.DELIVERY_TIMEOUT_MS,
  onFailure: (error) => {
    // A pod whose dispatcher died is restarted, not left half-alive: exit, the supervisor starts another.
    runtime.log.error({ code: 'internal', err: error }, 'broker dispatcher thread died; exiting');
    process.exit(1);
  },
});
for (const b of running.brokers) {
  process.stdout.write(
    `${JSON.stringify({ level: 'info', msg: 'broker ingress', broker: `${b.namespace}/${b.name}`, url: running.ingressUrl(b.namespace, b.name) })}\n`,
  );
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    running.close().then(
      () => runtime.shutdown().then(() => process.exit(0)),
      () => process.exit(1),
    );
  });
}
