/**
 * A NetworkPolicy evaluator (the Kubernetes semantics: a pod selected by no policy of a direction is open in
 * that direction; otherwise traffic needs a rule of a selecting policy whose peer and port match), and the
 * pods of a rendered overlay to run it on. No CNI quirks. ipBlock peers match only a host (a Pod with `ip`, e.g.
 * nginx on the edge node as seen after kube-proxy's masquerade): pods carry no address here, so an ipBlock
 * never admits a pod.
 */
import type { Manifest } from './load.ts';
import { json, knativeServices } from './pod-invariants.ts';

export interface Pod {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  /** A host outside the pod network (namespace ''): its source address, dotted IPv4. */
  ip?: string;
}

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Peer {
  namespaceSelector?: Selector;
  podSelector?: Selector;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  from?: Peer[];
  to?: Peer[];
  ports?: { port?: number | string; protocol?: string }[];
}
interface PolicySpec {
  podSelector: Selector;
  policyTypes?: string[];
  ingress?: Rule[];
  egress?: Rule[];
}

export function selects(selector: Selector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    const value = labels[e.key] ?? '';
    const ok =
      e.operator === 'In'
        ? has && (e.values ?? []).includes(value)
        : e.operator === 'NotIn'
          ? !has || !(e.values ?? []).includes(value)
          : e.operator === 'Exists'
            ? has
            : e.operator === 'DoesNotExist'
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

const nsLabels = (ns: string) => ({ 'kubernetes.io/metadata.name': ns });

const ipv4 = (ip: string) => ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
/** Is dotted IPv4 `ip` inside `cidr` (a.b.c.d/len)? */
export function inCidr(ip: string, cidr: string): boolean {
  const [base = '', len = '32'] = cidr.split('/');
  const size = 2 ** (32 - Number(len));
  return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base) / size);
}

function peerMatches(peer: Peer, policyNs: string, other: Pod): boolean {
  if (peer.ipBlock) {
    const { cidr, except = [] } = peer.ipBlock;
    return other.ip !== undefined && inCidr(other.ip, cidr) && !except.some((e) => inCidr(other.ip ?? '', e));
  }
  if (other.ip !== undefined) return false;
  if (peer.namespaceSelector) {
    if (!selects(peer.namespaceSelector, nsLabels(other.namespace))) return false;
  } else if (other.namespace !== policyNs) {
    return false;
  }
  return selects(peer.podSelector, other.labels);
}

function allowedBy(
  policies: Manifest[],
  pod: Pod,
  other: Pod,
  port: number,
  direction: 'Ingress' | 'Egress',
): boolean {
  const selecting = policies
    .filter((m) => m.object.metadata.namespace === pod.namespace)
    .map((m) => json(m.object.spec) as unknown as PolicySpec)
    .filter((spec) => {
      const types = spec.policyTypes ?? (spec.egress ? ['Ingress', 'Egress'] : ['Ingress']);
      return types.includes(direction) && selects(spec.podSelector, pod.labels);
    });
  if (selecting.length === 0) return true;
  return selecting.some((spec) =>
    ((direction === 'Ingress' ? spec.ingress : spec.egress) ?? []).some((rule) => {
      const peers = direction === 'Ingress' ? rule.from : rule.to;
      const peerOk = !peers || peers.length === 0 || peers.some((p) => peerMatches(p, pod.namespace, other));
      const portOk =
        !rule.ports ||
        rule.ports.length === 0 ||
        rule.ports.some((p) => p.port === undefined || Number(p.port) === port);
      return peerOk && portOk;
    }),
  );
}

/** Can `from` open a TCP connection to `to` on `port` under `manifests`' NetworkPolicies? */
export function canReach(manifests: Manifest[], from: Pod, to: Pod, port: number): boolean {
  const policies = manifests.filter((m) => m.object.kind === 'NetworkPolicy');
  return allowedBy(policies, from, to, port, 'Egress') && allowedBy(policies, to, from, port, 'Ingress');
}

/**
 * The pods a rendered overlay runs: Knative revisions (with Knative's label), Deployments, StatefulSets, Jobs,
 * CronJobs' Jobs, and the pods operators make (RabbitMQ, CloudNativePG instances).
 */
export function podsOf(manifests: Manifest[]): Pod[] {
  const pods: Pod[] = [];
  for (const [name, m] of knativeServices(manifests)) {
    const labels = (json(json(json(m.object.spec).template).metadata).labels ?? {}) as Record<string, string>;
    pods.push({
      name,
      namespace: String(m.object.metadata.namespace),
      labels: { ...labels, 'serving.knative.dev/service': name },
    });
  }
  for (const m of manifests.filter((x) => ['Deployment', 'StatefulSet', 'Job'].includes(x.object.kind))) {
    const labels = (json(json(json(m.object.spec).template).metadata).labels ?? {}) as Record<string, string>;
    pods.push({ name: m.object.metadata.name, namespace: String(m.object.metadata.namespace), labels });
  }
  for (const m of manifests.filter((x) => x.object.kind === 'CronJob')) {
    const template = json(json(json(m.object.spec).jobTemplate).spec).template;
    const labels = (json(json(template).metadata).labels ?? {}) as Record<string, string>;
    pods.push({ name: m.object.metadata.name, namespace: String(m.object.metadata.namespace), labels });
  }
  for (const m of manifests.filter(
    (x) => x.object.kind === 'Cluster' && x.object.apiVersion.startsWith('postgresql.cnpg.io/'),
  )) {
    // CloudNativePG labels its instances with the cluster's name and copies inheritedMetadata's labels.
    const inherited = json(json(m.object.spec).inheritedMetadata).labels as
      | Record<string, string>
      | undefined;
    pods.push({
      name: m.object.metadata.name,
      namespace: String(m.object.metadata.namespace),
      labels: { ...inherited, 'cnpg.io/cluster': m.object.metadata.name },
    });
  }
  for (const m of manifests.filter((x) => x.object.kind === 'RabbitmqCluster')) {
    // The RabbitMQ operator labels its pods with the cluster's name.
    pods.push({
      name: m.object.metadata.name,
      namespace: String(m.object.metadata.namespace),
      labels: { 'app.kubernetes.io/name': m.object.metadata.name },
    });
  }
  return pods;
}
