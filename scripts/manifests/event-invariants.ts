/**
 * Invariants on the event topology (Broker, Triggers, SinkBindings, PingSource) and on Vault wiring.
 * Each check returns violations; an empty list means the rule holds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FUNCTIONS, JOBS } from './function-specs.ts';
import type { Delivery, ServiceDestination } from './knative-types.ts';
import {
  brokers,
  isoDurationMs,
  type Manifest,
  ofKind,
  pingSources,
  REPO_ROOT,
  sinkBindings,
  triggers,
} from './load.ts';
import { json, knativeServices, where } from './pod-invariants.ts';

const CRON = /^(\S+\s+){4}\S+$/;

/**
 * Triggers filter on `type`, subscribe an existing Service through an existing Broker, set delivery
 * (retry, backoff ISO-8601, dead-letter sink that exists) and a parallelism of 1–1000. The Broker is a
 * RabbitMQBroker with a RabbitmqBrokerConfig whose cluster exists and admits the Broker's namespace,
 * and it has a dead-letter sink. SinkBindings and PingSources point at objects that exist. The
 * Triggers match what the catalogue says each function consumes.
 */
export function checkEventing(manifests: Manifest[]): string[] {
  const out: string[] = [];
  const services = knativeServices(manifests);
  const exists = (d: ServiceDestination | undefined) =>
    d !== undefined && services.get(d.service)?.object.metadata.namespace === d.namespace;
  const checkDelivery = (at: string, d: Delivery | undefined) => {
    if (!d) return out.push(`${at}: no delivery`);
    if (d.retry === undefined || d.retry < 1) out.push(`${at}: delivery.retry >= 1 expected`);
    if (!d.backoffPolicy) out.push(`${at}: no delivery.backoffPolicy`);
    if (!d.backoffDelay || isoDurationMs(d.backoffDelay) === undefined)
      out.push(`${at}: backoffDelay not ISO-8601`);
    if (!exists(d.deadLetterSink)) out.push(`${at}: deadLetterSink must be an existing Knative Service`);
    return 0;
  };

  const allBrokers = brokers(manifests);
  for (const b of allBrokers) {
    const at = `Broker ${b.namespace}/${b.name}`;
    if (b.brokerClass !== 'RabbitMQBroker') out.push(`${at}: class must be RabbitMQBroker`);
    checkDelivery(at, b.delivery);
    const config = ofKind(manifests, b.config.kind).find(
      (m) => m.object.metadata.name === b.config.name && m.object.metadata.namespace === b.config.namespace,
    );
    if (b.config.kind !== 'RabbitmqBrokerConfig' || !config) {
      out.push(`${at}: spec.config must name an existing RabbitmqBrokerConfig`);
      continue;
    }
    const ref = json(json(config.object.spec).rabbitmqClusterReference);
    const cluster = ofKind(manifests, 'RabbitmqCluster').find(
      (m) => m.object.metadata.name === ref.name && m.object.metadata.namespace === ref.namespace,
    );
    if (!cluster) out.push(`${at}: RabbitmqCluster ${String(ref.namespace)}/${String(ref.name)} missing`);
    const allowed = cluster?.object.metadata.annotations?.['rabbitmq.com/topology-allowed-namespaces'] ?? '';
    if (
      cluster &&
      cluster.object.metadata.namespace !== b.namespace &&
      !allowed.split(',').includes(b.namespace)
    ) {
      out.push(`${at}: RabbitmqCluster must list ${b.namespace} in rabbitmq.com/topology-allowed-namespaces`);
    }
  }

  const consumed = new Map<string, string[]>();
  for (const t of triggers(manifests)) {
    const at = `Trigger ${t.namespace}/${t.name}`;
    if (!allBrokers.some((b) => b.name === t.broker && b.namespace === t.namespace)) {
      out.push(`${at}: broker ${t.broker} does not exist`);
    }
    if (!exists(t.subscriber))
      out.push(`${at}: subscriber ${t.subscriber.service} is not an existing Service`);
    checkDelivery(at, t.delivery);
    if (t.parallelism === undefined || !(t.parallelism >= 1 && t.parallelism <= 1000)) {
      out.push(`${at}: rabbitmq.eventing.knative.dev/parallelism must be set, 1-1000`);
    }
    consumed.set(t.subscriber.service, [...(consumed.get(t.subscriber.service) ?? []), t.filter.type ?? '']);
  }

  const bound = new Set<string>();
  for (const s of sinkBindings(manifests)) {
    if (!services.has(s.subject)) out.push(`SinkBinding ${s.name}: subject ${s.subject} does not exist`);
    if (
      s.sink.kind !== 'Broker' ||
      !allBrokers.some((b) => b.name === s.sink.name && b.namespace === s.sink.namespace)
    ) {
      out.push(`SinkBinding ${s.name}: sink must be an existing Broker`);
    }
    bound.add(s.subject);
  }
  for (const p of pingSources(manifests)) {
    if (!CRON.test(p.schedule)) out.push(`PingSource ${p.name}: schedule is not a 5-field cron`);
    if (!exists(p.sink)) out.push(`PingSource ${p.name}: sink ${p.sink.service} is not an existing Service`);
  }

  for (const fn of FUNCTIONS) {
    if (!services.has(fn.name)) continue;
    const got = [...(consumed.get(fn.name) ?? [])].sort();
    if (got.join() !== [...fn.consumes].sort().join()) {
      out.push(`function ${fn.name}: Triggers subscribe [${got}], catalogue says [${fn.consumes}]`);
    }
    if (fn.emits.length > 0 !== bound.has(fn.name)) {
      out.push(
        `function ${fn.name}: ${fn.emits.length > 0 ? 'emits events but has no' : 'emits nothing but has a'} SinkBinding`,
      );
    }
  }
  return out;
}

/** A Kubernetes auth role of vault-policies/roles.json. */
export interface VaultRole {
  role: string;
  serviceAccount: string;
  namespace: string;
  policy: string;
  policyFile: string;
  ttl: string;
}

/** vault-policies/roles.json. */
export function vaultRoles(): VaultRole[] {
  const file = join(REPO_ROOT, 'vault-policies', 'roles.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { roles: VaultRole[] }).roles;
}

/** The `path "…" { capabilities = [...] }` rules of an HCL policy. */
export function policyRules(hcl: string): { path: string; capabilities: string[] }[] {
  const rules = [...hcl.matchAll(/path\s+"([^"]+)"\s*\{\s*capabilities\s*=\s*\[([^\]]*)\]\s*\}/g)];
  return rules.map((r) => ({
    path: r[1] ?? '',
    capabilities: [...(r[2] ?? '').matchAll(/"([^"]+)"/g)].map((c) => c[1] ?? ''),
  }));
}

/** Whether Vault's policy path (glob `*` at the end, `+` for one segment) covers `path`. */
export function policyCovers(rule: string, path: string): boolean {
  const pattern = rule
    .split('')
    .map((ch, i) =>
      ch === '*' && i === rule.length - 1
        ? '.*'
        : ch === '+'
          ? '[^/]+'
          : ch.replace(/[.?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('');
  return new RegExp(`^${pattern}$`).test(path);
}

/** Vault reads a function declares (functions/<name>/settings.ts, or PENDING for planned ones). */
export interface VaultReads {
  readonly sharedSecrets: readonly string[];
}

/**
 * Functions (Knative Services) and the catalogued Jobs (schema-migrate) fetch their secrets themselves
 * (functions/lib/secrets.ts): no Vault agent annotation on them; their role (= the function's name) exists, binds the Service's ServiceAccount and
 * namespace, and its policy allows exactly `kv/data/isekai/<name>/config` plus the declared shared
 * secrets. Other pods with `vault.hashicorp.com/agent-inject: "true"` (the data workloads) name a role
 * bound to their ServiceAccount whose policy allows every path they inject.
 */
export function checkVaultWiring(
  manifests: Manifest[],
  roles: VaultRole[],
  declared: ReadonlyMap<string, VaultReads>,
): string[] {
  const out: string[] = [];
  const rulesOf = (role: VaultRole) =>
    policyRules(readFileSync(join(REPO_ROOT, 'vault-policies', role.policyFile), 'utf8'));
  const bindsPod = (m: Manifest, role: VaultRole, sa: unknown) => {
    if (role.serviceAccount !== sa || role.namespace !== m.object.metadata.namespace) {
      out.push(
        `${where(m)}: role ${role.role} binds ${role.namespace}/${role.serviceAccount}, pod runs as ${String(sa)}`,
      );
    }
  };
  // Functions (Knative Services) and the catalogued Jobs (scripts/manifests/function-specs.ts JOBS) both log in
  // as the role named like them and read their own config plus the shared secrets they declare.
  const selfReading: [string, Manifest, VaultReads | undefined][] = [
    ...[...knativeServices(manifests)].map(([name, m]): [string, Manifest, VaultReads | undefined] => [
      name,
      m,
      declared.get(name),
    ]),
    ...ofKind(manifests, 'Job', 'batch').map((m): [string, Manifest, VaultReads | undefined] => {
      const name = m.object.metadata.name;
      return [name, m, JOBS.find((j) => j.name === name)];
    }),
  ];
  for (const [name, m, reads] of selfReading) {
    const template = json(json(m.object.spec).template);
    const a = (json(template.metadata).annotations ?? {}) as Record<string, string>;
    for (const key of Object.keys(a)) {
      if (key.startsWith('vault.hashicorp.com/'))
        out.push(`${where(m)}: ${key}: functions and Jobs read Vault themselves`);
    }
    const role = roles.find((r) => r.role === name);
    if (!role) {
      out.push(`${where(m)}: no Vault role ${name} in roles.json`);
      continue;
    }
    bindsPod(m, role, json(template.spec).serviceAccountName);
    if (!reads) {
      out.push(`${where(m)}: no declared Vault reads for ${name}`);
      continue;
    }
    const wanted = [
      `kv/data/isekai/${name}/config`,
      ...reads.sharedSecrets.map((s) => `kv/data/isekai/shared/${s}`),
    ];
    const rules = rulesOf(role);
    for (const path of wanted) {
      if (!rules.some((r) => r.capabilities.includes('read') && policyCovers(r.path, path))) {
        out.push(`${where(m)}: policy ${role.policyFile} does not allow reading ${path}`);
      }
    }
    for (const rule of rules) {
      if (!wanted.includes(rule.path))
        out.push(`${role.policyFile}: ${rule.path} is more than ${name} reads`);
    }
  }
  for (const m of manifests) {
    if (m.object.apiVersion.startsWith('serving.knative.dev/') || m.object.kind === 'Job') continue;
    // A CronJob's pods come from its Job template.
    const spec = json(m.object.spec);
    const template = json(
      m.object.kind === 'CronJob' ? json(json(spec.jobTemplate).spec).template : spec.template,
    );
    const a = (json(template.metadata).annotations ?? {}) as Record<string, string>;
    if (a['vault.hashicorp.com/agent-inject'] !== 'true') continue;
    const role = roles.find((r) => r.role === a['vault.hashicorp.com/role']);
    if (!role) {
      out.push(`${where(m)}: Vault role ${a['vault.hashicorp.com/role']} not in roles.json`);
      continue;
    }
    bindsPod(m, role, json(template.spec).serviceAccountName);
    const rules = rulesOf(role);
    for (const [key, path] of Object.entries(a)) {
      if (!key.startsWith('vault.hashicorp.com/agent-inject-secret-')) continue;
      if (!rules.some((r) => r.capabilities.includes('read') && policyCovers(r.path, path))) {
        out.push(`${where(m)}: policy ${role.policyFile} does not allow reading ${path}`);
      }
    }
  }
  return out;
}
