/**
 * Reads the Kubernetes manifests of this repository (knative/, k3s/, rook/) and turns the eventing
 * objects into typed plain values. The events data plane uses it to build, on a real RabbitMQ, the
 * same topology the eventing-rabbitmq broker builds in the cluster from these files.
 *
 * @example
 *   import { triggers } from '../scripts/manifests/load.ts';
 *   for (const t of triggers()) console.log(t.name, t.filter.type, '->', t.subscriber.service);
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { isoDurationMs } from './duration.ts';
import { isRecord, ManifestError, optionalStrings, record, str } from './guards.ts';
import type {
  BrokerDef,
  BrokerSpec,
  Delivery,
  DeliverySpec,
  Destination,
  PingSourceDef,
  PingSourceSpec,
  ServiceDestination,
  SinkBindingDef,
  SinkBindingSpec,
  TriggerDef,
  TriggerSpec,
} from './knative-types.ts';

/** Repository root (two levels above this file). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** knative/base: the manifests the data plane reads by default. */
export const KNATIVE_BASE = join(REPO_ROOT, 'knative', 'base');

/** A parsed Kubernetes object; fields beyond the header are left as unknown JSON. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    /** Instead of a name on objects made by `kubectl create` (k3s/jobs/); `name` is then absent. */
    generateName?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** One YAML document of a manifest file, with where it came from. */
export interface Manifest {
  /** Path relative to the repository root. */
  file: string;
  /** 0-based document index inside the file. */
  index: number;
  object: KubeObject;
}

export { isoDurationMs } from './duration.ts';
export { ManifestError } from './guards.ts';

// k3s/observability holds Prometheus files, not Kubernetes objects (observability.test.ts checks them).
const SKIPPED = /(^|\/)kustomization\.ya?ml$|\.patch\.ya?ml$|(^|\/)observability\//;

/** Every YAML file under `dir` (recursive), kustomization files, patch fragments and Prometheus files excluded. */
export function yamlFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f) && !SKIPPED.test(f))
    .map((f) => join(dir, f))
    .sort();
}

/** Parses multi-document YAML; throws on a syntax error or on a document that is not an object. */
export function parseManifests(text: string, file: string): Manifest[] {
  const out: Manifest[] = [];
  parseAllDocuments(text).forEach((doc, index) => {
    if (doc.errors.length > 0) throw new ManifestError(`${file}#${index}: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    if (!isRecord(value) || typeof value.apiVersion !== 'string' || typeof value.kind !== 'string') {
      throw new ManifestError(`${file}#${index}: not a Kubernetes object (apiVersion and kind required)`);
    }
    // generateName: an object made by `kubectl create` with a fresh name each time (k3s/jobs/).
    const meta = value.metadata;
    if (!isRecord(meta) || (typeof meta.name !== 'string' && typeof meta.generateName !== 'string')) {
      throw new ManifestError(`${file}#${index}: ${value.kind} without metadata.name`);
    }
    out.push({ file, index, object: value as KubeObject });
  });
  return out;
}

/** All objects of every manifest file under `dir`. */
export function loadManifests(dir: string = KNATIVE_BASE): Manifest[] {
  return yamlFiles(dir).flatMap((f) => parseManifests(readFileSync(f, 'utf8'), relative(REPO_ROOT, f)));
}

/** The objects of one kind (and API group, if given). */
export function ofKind(manifests: Manifest[], kind: string, group?: string): Manifest[] {
  return manifests.filter(
    (m) => m.object.kind === kind && (group === undefined || m.object.apiVersion.split('/')[0] === group),
  );
}

/** Triggers of `knative/base` (or of the given manifests), with required fields checked. */
export function triggers(manifests: Manifest[] = loadManifests()): TriggerDef[] {
  return ofKind(manifests, 'Trigger', 'eventing.knative.dev').map((m) => {
    const where = at(m);
    const spec: TriggerSpec = record(m.object.spec, `${where} spec`);
    const attributes = record(
      record(spec.filter, `${where} spec.filter`).attributes,
      `${where} spec.filter.attributes`,
    );
    const filter: Record<string, string> = {};
    for (const [k, v] of Object.entries(attributes))
      filter[k] = str(v, `${where} spec.filter.attributes.${k}`);
    if (!filter.type) throw new ManifestError(`${where}: spec.filter.attributes.type is required`);
    const par = m.object.metadata.annotations?.['rabbitmq.eventing.knative.dev/parallelism'];
    return {
      name: m.object.metadata.name,
      namespace: namespaceOf(m),
      broker: str(spec.broker, `${where} spec.broker`),
      filter,
      subscriber: destination(spec.subscriber, namespaceOf(m), `${where} spec.subscriber`),
      ...(spec.delivery === undefined
        ? {}
        : { delivery: delivery(spec.delivery, namespaceOf(m), `${where} spec.delivery`) }),
      ...(par === undefined ? {} : { parallelism: Number(par) }),
    };
  });
}

/** Brokers of `knative/base` (or of the given manifests). */
export function brokers(manifests: Manifest[] = loadManifests()): BrokerDef[] {
  return ofKind(manifests, 'Broker', 'eventing.knative.dev').map((m) => {
    const where = at(m);
    const spec: BrokerSpec = record(m.object.spec, `${where} spec`);
    const config = record(spec.config, `${where} spec.config`);
    return {
      name: m.object.metadata.name,
      namespace: namespaceOf(m),
      brokerClass: str(
        m.object.metadata.annotations?.['eventing.knative.dev/broker.class'],
        `${where} broker.class`,
      ),
      config: {
        apiVersion: str(config.apiVersion, `${where} spec.config.apiVersion`),
        kind: str(config.kind, `${where} spec.config.kind`),
        name: str(config.name, `${where} spec.config.name`),
        namespace: typeof config.namespace === 'string' ? config.namespace : namespaceOf(m),
      },
      ...(spec.delivery === undefined
        ? {}
        : { delivery: delivery(spec.delivery, namespaceOf(m), `${where} spec.delivery`) }),
    };
  });
}

/** SinkBindings: which Knative Service gets K_SINK, pointing where. */
export function sinkBindings(manifests: Manifest[] = loadManifests()): SinkBindingDef[] {
  return ofKind(manifests, 'SinkBinding', 'sources.knative.dev').map((m) => {
    const where = at(m);
    const spec: SinkBindingSpec = record(m.object.spec, `${where} spec`);
    const subject = record(spec.subject, `${where} spec.subject`);
    if (subject.kind !== 'Service')
      throw new ManifestError(`${where}: spec.subject must be a Knative Service`);
    const ref = record(record(spec.sink, `${where} spec.sink`).ref, `${where} spec.sink.ref`);
    return {
      name: m.object.metadata.name,
      namespace: namespaceOf(m),
      subject: str(subject.name, `${where} spec.subject.name`),
      sink: {
        kind: str(ref.kind, `${where} spec.sink.ref.kind`),
        name: str(ref.name, `${where} spec.sink.ref.name`),
        namespace: typeof ref.namespace === 'string' ? ref.namespace : namespaceOf(m),
      },
    };
  });
}

/** PingSources: schedule, payload and the Service they tick. */
export function pingSources(manifests: Manifest[] = loadManifests()): PingSourceDef[] {
  return ofKind(manifests, 'PingSource', 'sources.knative.dev').map((m) => {
    const where = at(m);
    const spec: PingSourceSpec = record(m.object.spec, `${where} spec`);
    return {
      name: m.object.metadata.name,
      namespace: namespaceOf(m),
      schedule: str(spec.schedule, `${where} spec.schedule`),
      ...optionalStrings(spec, ['timezone', 'contentType', 'data']),
      sink: destination(spec.sink, namespaceOf(m), `${where} spec.sink`),
    };
  });
}

function delivery(value: DeliverySpec, namespace: string, where: string): Delivery {
  const d: DeliverySpec = record(value, where);
  const out: Delivery = {};
  if (d.retry !== undefined) {
    if (!Number.isInteger(d.retry) || (d.retry as number) < 0)
      throw new ManifestError(`${where}.retry: integer >= 0`);
    out.retry = d.retry as number;
  }
  if (d.backoffPolicy !== undefined) {
    if (d.backoffPolicy !== 'linear' && d.backoffPolicy !== 'exponential') {
      throw new ManifestError(`${where}.backoffPolicy: linear or exponential`);
    }
    out.backoffPolicy = d.backoffPolicy;
  }
  if (d.backoffDelay !== undefined) {
    const delay = str(d.backoffDelay, `${where}.backoffDelay`);
    if (isoDurationMs(delay) === undefined)
      throw new ManifestError(`${where}.backoffDelay: not ISO-8601: ${delay}`);
    out.backoffDelay = delay;
  }
  if (d.deadLetterSink !== undefined)
    out.deadLetterSink = destination(d.deadLetterSink, namespace, `${where}.deadLetterSink`);
  return out;
}

function destination(value: Destination | undefined, namespace: string, where: string): ServiceDestination {
  const dest: Destination = record(value, where);
  const ref = record(dest.ref, `${where}.ref`);
  if (ref.kind !== 'Service' || ref.apiVersion !== 'serving.knative.dev/v1') {
    throw new ManifestError(`${where}.ref: must be a serving.knative.dev/v1 Service`);
  }
  const out: ServiceDestination = {
    service: str(ref.name, `${where}.ref.name`),
    namespace: typeof ref.namespace === 'string' ? ref.namespace : namespace,
  };
  if (typeof dest.uri === 'string') out.path = dest.uri;
  return out;
}

function namespaceOf(m: Manifest): string {
  const ns = m.object.metadata.namespace;
  if (!ns) throw new ManifestError(`${at(m)}: metadata.namespace is required`);
  return ns;
}

function at(m: Manifest): string {
  return `${m.file}#${m.index} ${m.object.kind}/${m.object.metadata.name}`;
}
