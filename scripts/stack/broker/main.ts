/**
 * The local broker process: `node scripts/stack/broker/main.ts`.
 * Reads Broker, RabbitmqBrokerConfig and Trigger manifests from KNATIVE_DIR and runs their topology on
 * the RabbitMQ at AMQP_URL; the ingress listens on BROKER_PORT (`K_SINK` = http://127.0.0.1:<port>/<ns>/<broker>).
 * `npm start` runs the same in process (scripts/stack/broker/local.ts).
 */

import { loadConfig, Type } from '../../../functions/lib/config.ts';
import { createRuntime } from '../../../functions/lib/runtime.ts';
import { KNATIVE_BASE } from '../../manifests/load.ts';
import { subscriberMap } from './broker.ts';
import { startBrokerFromManifests } from './from-manifests.ts';

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
const resolve = subscriberMap(settings.SUBSCRIBERS);
const running = await startBrokerFromManifests({
  runtime,
  amqpUrl: settings.AMQP_URL,
  knativeDir: settings.KNATIVE_DIR,
  subscriberUrl: (service, namespace) => resolve({ service, namespace }),
  port: settings.BROKER_PORT,
  host: settings.BROKER_HOST,
  timeoutMs: settings.DELIVERY_TIMEOUT_MS,
});
for (const t of running.topologies) {
  const b = t.broker;
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
