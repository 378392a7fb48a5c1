import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadFunctionSettings } from './function-env.ts';
import { FUNCTIONS, JOBS } from './function-specs.ts';
import { renderKustomize } from './kustomize.ts';
import { loadManifests, type Manifest, REPO_ROOT } from './load.ts';
import { canReach, type Pod, podsOf } from './network-policy.ts';

const declared = await loadFunctionSettings();
const roots = ['knative/overlays/production', 'knative/overlays/local'];
const OUTSIDE: Record<string, Pod> = {
  kourier: {
    name: 'kourier-gateway',
    namespace: 'kourier-system',
    labels: { app: '3scale-kourier-gateway' },
  },
  activator: { name: 'activator', namespace: 'knative-serving', labels: { app: 'activator' } },
  stranger: { name: 'stranger', namespace: 'default', labels: { app: 'anything' } },
  dispatcher: {
    name: 'notify-dispatcher',
    namespace: 'isekai',
    labels: { 'eventing.knative.dev/trigger': 'notify' },
  },
  /** eventing-rabbitmq's Broker ingress: made by its controller in the Broker's namespace (ingress.go). */
  brokerIngress: {
    name: 'default-broker-ingress',
    namespace: 'isekai',
    labels: { 'eventing.knative.dev/broker': 'default', 'eventing.knative.dev/brokerRole': 'ingress' },
  },
  rgw: { name: 'rgw', namespace: 'rook-ceph', labels: { app: 'rook-ceph-rgw' } },
  vault: { name: 'vault-0', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' } },
  dns: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  pingAdapter: {
    name: 'pingsource-mt-adapter',
    namespace: 'knative-eventing',
    labels: { 'eventing.knative.dev/source': 'ping-source-controller' },
  },
  kourierControl: {
    name: 'net-kourier-controller',
    namespace: 'knative-serving',
    labels: { app: 'net-kourier-controller' },
  },
  cephMgr: { name: 'rook-ceph-mgr-a', namespace: 'rook-ceph', labels: { app: 'rook-ceph-mgr' } },
  /** nginx on the edge node (`cloud`, podCIDR 10.42.0.0/24): a host, masqueraded to its flannel address. */
  edgeNginx: { name: 'nginx@cloud', namespace: '', labels: {}, ip: '10.42.0.0' },
  /** Any other node's host (a worker, podCIDR 10.42.1.0/24), and a pod address on the edge node. */
  workerHost: { name: 'host@worker-1', namespace: '', labels: {}, ip: '10.42.1.0' },
  edgePodAddress: { name: 'pod-ip@cloud', namespace: '', labels: {}, ip: '10.42.0.7' },
  internet: { name: 'internet', namespace: '', labels: {}, ip: '203.0.113.9' },
};
/** Our policies outside the overlay: kourier-system (k3s/platform) and monitoring (k3s/observability). */
const platform = loadManifests(join(REPO_ROOT, 'k3s/platform'));
const observability = renderKustomize(join(REPO_ROOT, 'k3s/observability'));
const STORES: [string, number, string][] = [
  ['postgres', 5432, 'DATABASE_URL'],
  ['mongodb', 27017, 'MONGO_URL'],
  ['redis', 6379, 'REDIS_URL'],
  // The site's sessions: their own Redis, reached by the site alone (600-redis-sessions.yaml).
  ['redis-sessions', 6379, 'SESSION_REDIS_URL'],
];
/** Who reads a store: the functions and Jobs whose Vault settings carry its URL. */
const readers = (setting: string) =>
  [
    ...FUNCTIONS.map((f) => ({ name: f.name, reads: declared.get(f.name)?.vaultSettings ?? [] })),
    ...JOBS.map((j) => ({ name: j.name, reads: j.vaultSettings })),
  ]
    .filter((x) => x.reads.includes(setting))
    .map((x) => x.name)
    .sort();

describe.each(roots)('network policies of %s', (root) => {
  const rendered: Manifest[] = [...renderKustomize(join(REPO_ROOT, root)), ...platform, ...observability];
  const pods = podsOf(rendered);
  const pod = (name: string) => {
    const p = pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  };
  const functions = pods.filter((p) => 'serving.knative.dev/service' in p.labels);

  it('denies everything by default in each of our namespaces', () => {
    for (const ns of ['isekai', 'isekai-data', 'monitoring', 'kourier-system']) {
      const deny = rendered.find(
        (m) =>
          m.object.kind === 'NetworkPolicy' &&
          m.object.metadata.namespace === ns &&
          m.object.metadata.name === 'default-deny',
      );
      expect(deny?.object.spec, ns).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    }
  });

  it('lets only Knative (Kourier, the activator) reach the functions: no stranger, no other function, no data pod', () => {
    expect(functions.length).toBeGreaterThanOrEqual(12);
    for (const f of functions) {
      expect(canReach(rendered, OUTSIDE.kourier as Pod, f, 8080), f.name).toBe(true);
      expect(canReach(rendered, OUTSIDE.activator as Pod, f, 8080), f.name).toBe(true);
      expect(canReach(rendered, OUTSIDE.stranger as Pod, f, 8080), f.name).toBe(false);
      expect(canReach(rendered, pod('postgres'), f, 8080), f.name).toBe(false);
      for (const g of functions)
        if (g !== f) expect(canReach(rendered, g, f, 8080), `${g.name} → ${f.name}`).toBe(false);
    }
  });

  it.each(STORES)('lets exactly the readers of its URL reach %s', (store, port, setting) => {
    const reaching = pods
      .filter((p) => p.namespace === 'isekai')
      .filter((p) => canReach(rendered, p, pod(store), port))
      .map((p) => p.name)
      .sort();
    expect(reaching).toEqual(readers(setting));
    expect(canReach(rendered, OUTSIDE.stranger as Pod, pod(store), port)).toBe(false);
  });

  it('lets every function and Job resolve names, log in to Vault and send traces; the bucket readers reach RGW', () => {
    for (const p of pods.filter((x) => x.namespace === 'isekai')) {
      expect(canReach(rendered, p, OUTSIDE.dns as Pod, 53), p.name).toBe(true);
      expect(canReach(rendered, p, OUTSIDE.vault as Pod, 8200), p.name).toBe(true);
    }
    for (const f of functions) expect(canReach(rendered, f, pod('zipkin'), 9411), f.name).toBe(true);
    const s3 = functions
      .filter((f) => declared.get(f.name)?.vaultSettings.includes('S3_ACCESS_KEY_ID'))
      .map((f) => f.name);
    expect(s3.sort()).toEqual(['library', 'library-backup', 'subtitles', 'upload-subtitle']);
    for (const f of functions)
      expect(canReach(rendered, f, OUTSIDE.rgw as Pod, 8080), f.name).toBe(s3.includes(f.name));
  });

  it('lets Prometheus scrape functions (8080, queue-proxy 9091), dispatchers and Knative (9090), RabbitMQ (15692), the sessions’ Redis exporter (9121), Ceph (9283), and nothing else', () => {
    const prom = pod('prometheus');
    for (const f of functions) {
      expect(canReach(rendered, prom, f, 8080), f.name).toBe(true);
      expect(canReach(rendered, prom, f, 9091), f.name).toBe(true);
      expect(canReach(rendered, prom, f, 5432), f.name).toBe(false);
    }
    expect(canReach(rendered, prom, OUTSIDE.dispatcher as Pod, 9090)).toBe(true);
    expect(canReach(rendered, prom, OUTSIDE.activator as Pod, 9090)).toBe(true);
    expect(canReach(rendered, prom, OUTSIDE.pingAdapter as Pod, 9090)).toBe(true);
    expect(canReach(rendered, prom, OUTSIDE.cephMgr as Pod, 9283)).toBe(true);
    expect(canReach(rendered, prom, pod('rabbitmq'), 15692)).toBe(true);
    expect(canReach(rendered, prom, pod('redis-sessions'), 9121)).toBe(true);
    expect(canReach(rendered, prom, pod('redis-sessions'), 6379)).toBe(false);
    expect(canReach(rendered, OUTSIDE.stranger as Pod, pod('redis-sessions'), 9121)).toBe(false);
    expect(canReach(rendered, prom, pod('rabbitmq'), 5672)).toBe(false);
    expect(canReach(rendered, prom, pod('postgres'), 5432)).toBe(false);
    expect(canReach(rendered, prom, OUTSIDE.rgw as Pod, 8080)).toBe(false);
    // The scraped side admits Prometheus only: a stranger gets no metrics.
    expect(canReach(rendered, OUTSIDE.stranger as Pod, OUTSIDE.dispatcher as Pod, 9090)).toBe(false);
  });

  it('monitoring: Grafana reads Prometheus, Prometheus alerts Alertmanager; nothing else reaches them or is reached', () => {
    const [prom, grafana, am] = [pod('prometheus'), pod('grafana'), pod('alertmanager')];
    expect(canReach(rendered, grafana, prom, 9090)).toBe(true);
    expect(canReach(rendered, prom, am, 9093)).toBe(true);
    for (const [to, port] of [
      [prom, 9090],
      [grafana, 3000],
      [am, 9093],
    ] as [Pod, number][]) {
      expect(canReach(rendered, OUTSIDE.stranger as Pod, to, port), to.name).toBe(false);
      for (const f of functions)
        expect(canReach(rendered, f, to, port), `${f.name} → ${to.name}`).toBe(false);
    }
    expect(canReach(rendered, grafana, pod('postgres'), 5432)).toBe(false);
    expect(canReach(rendered, grafana, am, 9093)).toBe(false);
    expect(canReach(rendered, am, pod('rabbitmq'), 5672)).toBe(false);
    expect(canReach(rendered, am, prom, 9090)).toBe(false);
    for (const p of [prom, grafana, am])
      expect(canReach(rendered, p, OUTSIDE.dns as Pod, 53), p.name).toBe(true);
    const blackbox = pod('blackbox-exporter');
    expect(canReach(rendered, prom, blackbox, 9115)).toBe(true);
    expect(canReach(rendered, OUTSIDE.stranger as Pod, blackbox, 9115)).toBe(false);
    expect(canReach(rendered, blackbox, pod('postgres'), 5432)).toBe(false);
  });

  it('kourier-system: the gateway admits the eventing data plane and Knative, not functions or strangers; it reaches only functions and Knative', () => {
    const gw = OUTSIDE.kourier as Pod;
    for (const port of [8080, 8081]) {
      expect(canReach(rendered, OUTSIDE.dispatcher as Pod, gw, port)).toBe(true);
      expect(canReach(rendered, OUTSIDE.pingAdapter as Pod, gw, port)).toBe(true);
      expect(canReach(rendered, OUTSIDE.kourierControl as Pod, gw, port)).toBe(true);
      expect(canReach(rendered, OUTSIDE.stranger as Pod, gw, port)).toBe(false);
      expect(canReach(rendered, pod('prometheus'), gw, port)).toBe(false);
      for (const f of functions) expect(canReach(rendered, f, gw, port), f.name).toBe(false);
    }
    expect(canReach(rendered, gw, OUTSIDE.kourierControl as Pod, 18000)).toBe(true);
    expect(canReach(rendered, gw, OUTSIDE.activator as Pod, 8012)).toBe(true);
    expect(canReach(rendered, gw, pod('postgres'), 5432)).toBe(false);
    expect(canReach(rendered, gw, OUTSIDE.vault as Pod, 8200)).toBe(false);
  });

  it('lets the replicated stores replicate, the PostgreSQL operator manage its instances, and nothing else in', () => {
    const pg = pod('postgres');
    const operator: Pod = { name: 'cnpg-controller-manager', namespace: 'cnpg-system', labels: {} };
    expect(canReach(rendered, pg, pg, 5432)).toBe(true);
    expect(canReach(rendered, operator, pg, 8000)).toBe(true);
    expect(canReach(rendered, OUTSIDE.stranger as Pod, pg, 8000)).toBe(false);
    expect(canReach(rendered, pod('mongodb'), pod('mongodb'), 27017)).toBe(true);
    expect(canReach(rendered, pod('redis'), pg, 5432)).toBe(false);
    // WAL archive and base backups to the object store.
    expect(canReach(rendered, pg, OUTSIDE.rgw as Pod, 8080)).toBe(true);
    expect(canReach(rendered, pod('mongodb'), OUTSIDE.rgw as Pod, 8080)).toBe(false);
  });

  if (root.endsWith('production')) {
    it('lets the backup CronJobs read their store and write to RGW, and no more', () => {
      for (const [job, store, port] of [
        ['postgres-dump', 'postgres', 5432],
        ['mongodb-dump', 'mongodb', 27017],
      ] as const) {
        expect(canReach(rendered, pod(job), pod(store), port), job).toBe(true);
        expect(canReach(rendered, pod(job), OUTSIDE.rgw as Pod, 8080), job).toBe(true);
        expect(canReach(rendered, pod(job), pod('redis'), 6379), job).toBe(false);
        expect(canReach(rendered, pod(job), pod('redis-sessions'), 6379), job).toBe(false);
        expect(canReach(rendered, pod(job), pod('catalog'), 8080), job).toBe(false);
      }
    });
  }

  it('lets producers, dispatcher replies and the PingSource adapter reach the Broker ingress (8080), and it reach RabbitMQ', () => {
    const ingress = OUTSIDE.brokerIngress as Pod;
    for (const f of functions) expect(canReach(rendered, f, ingress, 8080), f.name).toBe(true);
    expect(canReach(rendered, OUTSIDE.dispatcher as Pod, ingress, 8080)).toBe(true);
    expect(canReach(rendered, OUTSIDE.pingAdapter as Pod, ingress, 8080)).toBe(true);
    expect(canReach(rendered, ingress, pod('rabbitmq'), 5672)).toBe(true);
    expect(canReach(rendered, pod('prometheus'), ingress, 9090)).toBe(true);
    expect(canReach(rendered, OUTSIDE.stranger as Pod, ingress, 8080)).toBe(false);
    expect(canReach(rendered, pod('prometheus'), ingress, 8080)).toBe(false);
    expect(canReach(rendered, pod('postgres'), ingress, 8080)).toBe(false);
    // 8080 only: the rule opens the ingress, not every port of every eventing pod.
    expect(canReach(rendered, functions[0] as Pod, ingress, 5672)).toBe(false);
  });

  it('lets nginx on the edge node reach Keycloak (browser sign-in, 8080), and no other host or port', () => {
    const keycloak = pod('keycloak');
    expect(canReach(rendered, OUTSIDE.edgeNginx as Pod, keycloak, 8080)).toBe(true);
    expect(canReach(rendered, OUTSIDE.edgeNginx as Pod, keycloak, 9000)).toBe(false);
    expect(canReach(rendered, OUTSIDE.edgeNginx as Pod, pod('postgres'), 5432)).toBe(false);
    for (const other of [OUTSIDE.workerHost, OUTSIDE.edgePodAddress, OUTSIDE.internet] as Pod[])
      expect(canReach(rendered, other, keycloak, 8080), other.name).toBe(false);
  });

  it('lets the Trigger dispatchers consume RabbitMQ, and Keycloak use PostgreSQL', () => {
    expect(canReach(rendered, OUTSIDE.dispatcher as Pod, pod('rabbitmq'), 5672)).toBe(true);
    expect(canReach(rendered, pod('keycloak'), pod('postgres'), 5432)).toBe(true);
    expect(canReach(rendered, pod('catalog'), pod('rabbitmq'), 5672)).toBe(false);
  });
});

/**
 * Kourier reachable only from nginx on the edge node. nginx is a host process (nginx/README.md), not a pod:
 * the policy evaluator cannot model it, so the path is held together here: NodePorts bound to loopback on every
 * node (scripts.test.ts), the gateway placed on the edge node only, a NodePort Service that never forwards to
 * another node, and no ipBlock in kourier-system admitting any host — the only host that gets through is the
 * gateway's own node, whose traffic k3s' policy controller (kube-router) always accepts for kubelet probes.
 */
describe('Kourier is reachable from the edge node only', () => {
  const policies = platform.filter(
    (m) => m.object.kind === 'NetworkPolicy' && m.object.metadata.namespace === 'kourier-system',
  );
  it('no kourier-system policy admits an address block (another node, the internet)', () => {
    expect(policies.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(policies.map((m) => m.object.spec))).not.toContain('ipBlock');
  });

  it('the gateway runs on the edge node only and the NodePort Service keeps traffic on its node', () => {
    const patch = parse(
      readFileSync(join(REPO_ROOT, 'k3s/platform/kourier-gateway-edge.patch.yaml'), 'utf8'),
    ) as { spec: { template: { spec: { nodeSelector: Record<string, string>; tolerations: unknown[] } } } };
    expect(patch.spec.template.spec.nodeSelector).toEqual({ 'node-role.isekai.dev/edge': 'true' });
    // The edge node's taint (install-server.sh) is tolerated, or the gateway would never be scheduled.
    expect(patch.spec.template.spec.tolerations).toEqual([{ key: 'CriticalAddonsOnly', operator: 'Exists' }]);
    const svc = platform.find((m) => m.object.kind === 'Service' && m.object.metadata.name === 'kourier');
    expect((svc?.object.spec as { externalTrafficPolicy?: string } | undefined)?.externalTrafficPolicy).toBe(
      'Local',
    );
    const install = readFileSync(join(REPO_ROOT, 'k3s/install-platform.sh'), 'utf8');
    expect(install).toContain(
      'patch deployment 3scale-kourier-gateway --patch-file platform/kourier-gateway-edge.patch.yaml',
    );
    expect(install).toContain('apply_file platform/kourier-network-policy.yaml');
  });
});

describe('the evaluator catches an opened path', () => {
  it('a policy letting every isekai pod reach PostgreSQL is seen', () => {
    const rendered = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
    const open = structuredClone(rendered);
    const pg = open.find(
      (m) => m.object.kind === 'NetworkPolicy' && m.object.metadata.name === 'postgres-from-readers',
    );
    if (!pg) throw new Error('no NetworkPolicy postgres-from-readers');
    // biome-ignore lint/suspicious/noExplicitAny: a deep edit of parsed YAML
    (pg.object.spec as any).ingress[0].from[0].podSelector = {};
    const to = open.find(
      (m) => m.object.kind === 'NetworkPolicy' && m.object.metadata.name === 'to-postgres',
    );
    if (!to) throw new Error('no NetworkPolicy to-postgres');
    // biome-ignore lint/suspicious/noExplicitAny: a deep edit of parsed YAML
    (to.object.spec as any).podSelector = {};
    const pods = podsOf(open);
    const postgres = pods.find((p) => p.name === 'postgres') as Pod;
    const edge = pods.find((p) => p.name === 'edge-auth') as Pod;
    expect(canReach(rendered, edge, postgres, 5432)).toBe(false);
    expect(canReach(open, edge, postgres, 5432)).toBe(true);
  });
});
