import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFunctionSettings } from './function-env.ts';
import { FUNCTIONS, JOBS } from './function-specs.ts';
import { renderKustomize } from './kustomize.ts';
import { type Manifest, REPO_ROOT } from './load.ts';
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
  rgw: { name: 'rgw', namespace: 'rook-ceph', labels: { app: 'rook-ceph-rgw' } },
  vault: { name: 'vault-0', namespace: 'vault', labels: { 'app.kubernetes.io/name': 'vault' } },
  dns: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  prometheus: {
    name: 'prometheus',
    namespace: 'monitoring',
    labels: { 'app.kubernetes.io/name': 'prometheus' },
  },
};
const STORES: [string, number, string][] = [
  ['postgres', 5432, 'DATABASE_URL'],
  ['mongodb', 27017, 'MONGO_URL'],
  ['redis', 6379, 'REDIS_URL'],
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
  const rendered: Manifest[] = renderKustomize(join(REPO_ROOT, root));
  const pods = podsOf(rendered);
  const pod = (name: string) => {
    const p = pods.find((x) => x.name === name);
    if (!p) throw new Error(`no pod ${name}`);
    return p;
  };
  const functions = pods.filter((p) => 'serving.knative.dev/service' in p.labels);

  it('denies everything by default in each of our namespaces', () => {
    for (const ns of ['isekai', 'isekai-data']) {
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

  it('lets Prometheus scrape functions (8080, queue-proxy 9091) and RabbitMQ (15692), and nothing else', () => {
    const prom = OUTSIDE.prometheus as Pod;
    for (const f of functions) {
      expect(canReach(rendered, prom, f, 8080), f.name).toBe(true);
      expect(canReach(rendered, prom, f, 9091), f.name).toBe(true);
    }
    expect(canReach(rendered, prom, pod('rabbitmq'), 15692)).toBe(true);
    expect(canReach(rendered, prom, pod('postgres'), 5432)).toBe(false);
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
        expect(canReach(rendered, pod(job), pod('catalog'), 8080), job).toBe(false);
      }
    });
  }

  it('lets the Trigger dispatchers consume RabbitMQ, and Keycloak use PostgreSQL', () => {
    expect(canReach(rendered, OUTSIDE.dispatcher as Pod, pod('rabbitmq'), 5672)).toBe(true);
    expect(canReach(rendered, pod('keycloak'), pod('postgres'), 5432)).toBe(true);
    expect(canReach(rendered, pod('catalog'), pod('rabbitmq'), 5672)).toBe(false);
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
