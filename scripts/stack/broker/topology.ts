/**
 * The eventing-rabbitmq topology, built from Broker and Trigger definitions (scripts/manifests/knative-types.ts):
 * a durable headers exchange per Broker, a durable queue per Trigger bound with the trigger's
 * `filter.attributes` + `x-knative-trigger` + `x-match: all`, and a dead-letter exchange + queue for the
 * Broker and for every Trigger whose own delivery names a dead-letter sink.
 */
import type { Channel } from 'amqplib';
import type { BrokerDef, Delivery, ServiceDestination, TriggerDef } from '../../manifests/knative-types.ts';

/** A queue (a Trigger's, or a dead-letter queue), where its events go, and how failures are handled. */
export interface QueueSubscription {
  /** For logs and `x-knative-trigger`: the trigger name, or `<broker>-dlq`. */
  readonly name: string;
  readonly queue: string;
  readonly subscriber: ServiceDestination;
  /** Retry settings in effect (the trigger's delivery, else the broker's); undefined: none anywhere. */
  readonly delivery: Delivery | undefined;
  /** Exchange failed events are republished to after the last retry; undefined: dropped. */
  readonly deadLetterExchange: string | undefined;
  /** 1 keeps order (FIFO); up to 1000. */
  readonly parallelism: number;
  /** For a dead-letter queue: the dead-letter exchange that feeds it. */
  readonly fedBy?: string;
}

export interface BrokerTopology {
  readonly broker: BrokerDef;
  readonly exchange: string;
  readonly deadLetterExchange: string | undefined;
  /** One route per trigger of this broker, then one per dead-letter queue. */
  readonly routes: readonly QueueSubscription[];
  /** Binding of each trigger queue: queue → arguments. */
  readonly bindings: ReadonlyMap<string, Record<string, string>>;
  readonly queueType: 'quorum' | 'classic';
}

/** Names as eventing-rabbitmq derives them; `uid` stands in for the Kubernetes object UID. */
export const names = {
  exchange: (b: BrokerDef, uid: string) => `b.${b.namespace}.${b.name}.${uid}`,
  brokerDlx: (b: BrokerDef, uid: string) => `b.${b.namespace}.${b.name}.dlx.${uid}`,
  brokerDlq: (b: BrokerDef, uid: string) => `b.${b.namespace}.${b.name}.dlq.${uid}`,
  queue: (t: TriggerDef, uid: string) => `t.${t.namespace}.${t.name}.${uid}`,
  triggerDlx: (t: TriggerDef, uid: string) => `t.${t.namespace}.${t.name}.dlx.${uid}`,
  triggerDlq: (t: TriggerDef, uid: string) => `t.${t.namespace}.${t.name}.dlq.${uid}`,
};

/** Parallelism from the `rabbitmq.eventing.knative.dev/parallelism` annotation: 1 (default) to 1000. */
export function parallelismOf(trigger: TriggerDef): number {
  const p = trigger.parallelism ?? 1;
  if (!Number.isInteger(p) || p < 1 || p > 1000) {
    throw new Error(`trigger ${trigger.namespace}/${trigger.name}: parallelism must be 1..1000, got ${p}`);
  }
  return p;
}

/** Build the topology of one broker and its triggers (pure; `declare` creates it on RabbitMQ). */
export function planTopology(
  broker: BrokerDef,
  triggers: readonly TriggerDef[],
  options: { uid?: string; queueType?: 'quorum' | 'classic' } = {},
): BrokerTopology {
  const uid = options.uid ?? 'local';
  const mine = triggers.filter((t) => t.broker === broker.name && t.namespace === broker.namespace);
  const brokerDls = broker.delivery?.deadLetterSink;
  const brokerDlx = brokerDls ? names.brokerDlx(broker, uid) : undefined;
  const routes: QueueSubscription[] = [];
  const bindings = new Map<string, Record<string, string>>();
  for (const trigger of mine) {
    const ownDls = trigger.delivery?.deadLetterSink;
    const queue = names.queue(trigger, uid);
    routes.push({
      name: trigger.name,
      queue,
      subscriber: trigger.subscriber,
      delivery: trigger.delivery ?? broker.delivery,
      deadLetterExchange: ownDls ? names.triggerDlx(trigger, uid) : brokerDlx,
      parallelism: parallelismOf(trigger),
    });
    bindings.set(queue, { ...trigger.filter, 'x-knative-trigger': trigger.name, 'x-match': 'all' });
    if (ownDls) {
      // The DLQ dispatcher retries with the same delivery settings, then drops (no second dead letter).
      routes.push({
        name: `${trigger.name}-dlq`,
        queue: names.triggerDlq(trigger, uid),
        subscriber: ownDls,
        delivery: trigger.delivery,
        deadLetterExchange: undefined,
        parallelism: 1,
        fedBy: names.triggerDlx(trigger, uid),
      });
    }
  }
  if (brokerDls) {
    routes.push({
      name: `${broker.name}-dlq`,
      queue: names.brokerDlq(broker, uid),
      subscriber: brokerDls,
      delivery: broker.delivery,
      deadLetterExchange: undefined,
      parallelism: 1,
      fedBy: brokerDlx,
    });
  }
  return {
    broker,
    exchange: names.exchange(broker, uid),
    deadLetterExchange: brokerDlx,
    routes,
    bindings,
    queueType: options.queueType ?? 'quorum',
  };
}

/** Declare exchanges, queues and bindings (idempotent; run on every (re)connect). */
export async function declareTopology(channel: Channel, topology: BrokerTopology): Promise<void> {
  const queueArgs = { 'x-queue-type': topology.queueType };
  await channel.assertExchange(topology.exchange, 'headers', { durable: true });
  for (const route of topology.routes) {
    await channel.assertQueue(route.queue, { durable: true, arguments: queueArgs });
  }
  for (const [queue, args] of topology.bindings) await channel.bindQueue(queue, topology.exchange, '', args);
  // Dead-letter exchanges are headers exchanges too; an empty x-match=all binding takes every message.
  for (const route of topology.routes) {
    if (!route.fedBy) continue;
    await channel.assertExchange(route.fedBy, 'headers', { durable: true });
    await channel.bindQueue(route.queue, route.fedBy, '', { 'x-match': 'all' });
  }
}
