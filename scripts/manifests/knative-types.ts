/**
 * The Knative eventing objects this repository declares (Broker, Trigger, PingSource, SinkBinding), typed
 * by `@kubernetes-models/knative` (generated from Knative's own CRD schemas), and the checked plain values
 * `load.ts` makes of them. One module for both sides that read them: scripts/manifests (loading,
 * invariants) and scripts/stack/broker (the development data plane).
 * Only types: importing it loads nothing at run time.
 */
import type { IBroker } from '@kubernetes-models/knative/eventing.knative.dev/v1/Broker';
import type { ITrigger } from '@kubernetes-models/knative/eventing.knative.dev/v1/Trigger';
import type { IPingSource } from '@kubernetes-models/knative/sources.knative.dev/v1/PingSource';
import type { ISinkBinding } from '@kubernetes-models/knative/sources.knative.dev/v1/SinkBinding';

/** The objects as written in YAML (every field optional, as the CRD schemas say). */
export type { IBroker, IPingSource, ISinkBinding, ITrigger };

export type TriggerSpec = NonNullable<ITrigger['spec']>;
export type BrokerSpec = NonNullable<IBroker['spec']>;
export type PingSourceSpec = NonNullable<IPingSource['spec']>;
export type SinkBindingSpec = NonNullable<ISinkBinding['spec']>;
/** `spec.delivery` of a Trigger or Broker (retry, backoff, dead-letter sink). */
export type DeliverySpec = NonNullable<TriggerSpec['delivery']>;
/** A Knative Destination (`ref` and/or `uri`): a Trigger's subscriber, a source's sink, a dead-letter sink. */
export type Destination = NonNullable<TriggerSpec['subscriber']>;
/** `spec.config` of a Broker: its RabbitmqBrokerConfig. */
export type BrokerConfigRef = NonNullable<BrokerSpec['config']>;

/** A Knative Service a Trigger, source or delivery spec points at (a checked `Destination`). */
export interface ServiceDestination {
  service: string;
  namespace: string;
  /** Relative path from `uri` next to the `ref`, if any. */
  path?: string;
}

/** A checked `DeliverySpec`: the backoff policy narrowed to Knative's two values, the sink to a Service. */
export interface Delivery {
  retry?: NonNullable<DeliverySpec['retry']>;
  backoffPolicy?: 'linear' | 'exponential';
  /** ISO-8601 duration as written, e.g. `PT0.5S` (see `isoDurationMs` in duration.ts). */
  backoffDelay?: NonNullable<DeliverySpec['backoffDelay']>;
  deadLetterSink?: ServiceDestination;
}

/** A checked Trigger. */
export interface TriggerDef {
  name: string;
  namespace: string;
  broker: NonNullable<TriggerSpec['broker']>;
  /** `spec.filter.attributes`: exact-match CloudEvent attributes (always includes `type`). */
  filter: Record<string, string>;
  subscriber: ServiceDestination;
  delivery?: Delivery;
  /** `rabbitmq.eventing.knative.dev/parallelism`; 1 means FIFO. */
  parallelism?: number;
}

/** A checked Broker (class from its `eventing.knative.dev/broker.class` annotation). */
export interface BrokerDef {
  name: string;
  namespace: string;
  brokerClass: string;
  config: Required<Pick<BrokerConfigRef, 'apiVersion' | 'kind' | 'name' | 'namespace'>>;
  delivery?: Delivery;
}

/** A checked SinkBinding. */
export interface SinkBindingDef {
  name: string;
  namespace: string;
  /** The Knative Service that gets K_SINK. */
  subject: string;
  sink: { kind: string; name: string; namespace: string };
}

/** A checked PingSource. */
export interface PingSourceDef {
  name: string;
  namespace: string;
  schedule: NonNullable<PingSourceSpec['schedule']>;
  timezone?: PingSourceSpec['timezone'];
  contentType?: PingSourceSpec['contentType'];
  data?: PingSourceSpec['data'];
  sink: ServiceDestination;
}
