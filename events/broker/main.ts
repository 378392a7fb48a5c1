/**
 * The local broker process (part of `npm start`): `node events/broker/main.ts`.
 * Reads Broker, RabbitmqBrokerConfig and Trigger manifests from KNATIVE_DIR and runs their topology on
 * the RabbitMQ at AMQP_URL; the ingress listens on BROKER_PORT (`K_SINK` = http://127.0.0.1:<port>/<ns>/<broker>).
 */

import { loadConfig, Type } from '../../functions/lib/config.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { brokers, KNATIVE_BASE, loadManifests, triggers } from '../../scripts/manifests/load.ts';
import { queueTypeOf, startBroker, subscriberMap } from './broker.ts';

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
const manifests = loadManifests(settings.KNATIVE_DIR);
const defs = brokers(manifests);
if (defs.length === 0) throw new Error(`no Broker in ${settings.KNATIVE_DIR}`);
const running = await startBroker({
  runtime,
  amqpUrl: settings.AMQP_URL,
  brokers: defs,
  triggers: triggers(manifests),
  resolve: subscriberMap(settings.SUBSCRIBERS),
  port: settings.BROKER_PORT,
  host: settings.BROKER_HOST,
  queueType: defs[0] ? queueTypeOf(defs[0], manifests) : 'quorum',
  timeoutMs: settings.DELIVERY_TIMEOUT_MS,
});
for (const b of defs) {
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
