import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { type KubeObject, loadManifests, ofKind, REPO_ROOT } from './load.ts';
import { validateObject } from './validate.ts';

const DIRS = ['knative', 'k3s', 'rook'];
const manifests = DIRS.flatMap((d) => loadManifests(join(REPO_ROOT, d)));

describe('schema: every manifest document parses and validates', () => {
  it('finds the manifests', () => {
    expect(manifests.length).toBeGreaterThan(50);
  });

  expect(DIRS, 'manifest folders').toHaveLength(3);
  it.each(DIRS)('every YAML file under %s/ parses, kustomizations and patches included', (dir) => {
    const files = readdirYaml(join(REPO_ROOT, dir));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const docs = parseAllDocuments(readFileSync(f, 'utf8'));
      for (const d of docs) expect(d.errors, relative(REPO_ROOT, f)).toEqual([]);
    }
  });

  // main's 80 + 21 NetworkPolicies (knative/base/150-network-policy.yaml), claim isekai/backups, config-autoscaler
  // and config-tracing ×2 (k3s/platform), RabbitMQ's PodDisruptionBudget (components/high-availability), the
  // dead-letter CLI Job (k3s/jobs/dead-letters-cli.yaml); + groups (ServiceAccount, Service, SinkBinding) and
  // notify's three group Triggers; + the notify-mail-tick PingSource (the mail sender's clock);
  // data protection: PostgreSQL's SA/ConfigMap/Service/StatefulSet → CloudNativePG Cluster + Database +
  // ScheduledBackup (−1), MongoDB's script ConfigMap and PDB (+2), Redis' PVC (+1), 4 NetworkPolicies, and
  // 700-backups.yaml (ServiceAccount, script ConfigMap, 2 CronJobs: +4), k3s/restore/postgres-pitr.yaml (+1);
  // + the observability stack (k3s/observability/k8s: Namespace, 6 NetworkPolicies, Prometheus' ServiceAccount,
  // ClusterRole, ClusterRoleBinding, Service, StatefulSet, Alertmanager's, Grafana's and the blackbox exporter's
  // Service + Deployment: +18), kourier-system's 2 NetworkPolicies (k3s/platform), isekai's
  // eventing-metrics-from-monitoring; isekai's broker-ingress and isekai-data's keycloak-from-edge
  // NetworkPolicies, the post-restore Backup (k3s/restore/postgres-backup.yaml); notify's Triggers for
  // subtitle.hidden and subtitle.restored (the uploader is told of moderation decisions); the sessions' Redis
  // (600-redis-sessions.yaml: ServiceAccount, ConfigMap, Service, StatefulSet) and its 3 NetworkPolicies (the
  // site in, the site out, Prometheus to its exporter: +7).
  expect(manifests, 'manifest documents').toHaveLength(158);
  it.each(
    manifests.map(
      (m) =>
        [
          `${m.file}#${m.index} ${m.object.kind}/${m.object.metadata.name ?? m.object.metadata.generateName}`,
          m.object,
        ] as const,
    ),
  )('%s', async (_name, object) => {
    expect(await validateObject(object)).toEqual([]);
  });

  it('every HelmChart valuesContent is YAML', () => {
    for (const m of ofKind(manifests, 'HelmChart')) {
      const spec = m.object.spec as { valuesContent?: string };
      expect(() => parseYaml(spec.valuesContent ?? ''), m.file).not.toThrow();
    }
  });
});

describe('schema: the validators catch broken objects', () => {
  const ksvc = (container: Record<string, unknown>): KubeObject => ({
    apiVersion: 'serving.knative.dev/v1',
    kind: 'Service',
    metadata: { name: 'x', namespace: 'isekai' },
    spec: { template: { spec: { containers: [{ image: 'i', ...container }] } } },
  });

  it.each([
    ['a Knative Service with a non-integer concurrency', ksvc({ resources: { limits: { cpu: {} } } })],
    [
      'a Deployment without selector',
      { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { template: {} } },
    ],
    [
      'a RabbitmqBrokerConfig with a typo',
      {
        apiVersion: 'eventing.knative.dev/v1alpha1',
        kind: 'RabbitmqBrokerConfig',
        metadata: { name: 'x' },
        spec: { rabbitmqClusterRef: {} },
      },
    ],
    [
      'a CephBlockPool without replica size',
      {
        apiVersion: 'ceph.rook.io/v1',
        kind: 'CephBlockPool',
        metadata: { name: 'x' },
        spec: { replicated: {} },
      },
    ],
    [
      'a bucket claim without bucket name',
      {
        apiVersion: 'objectbucket.io/v1alpha1',
        kind: 'ObjectBucketClaim',
        metadata: { name: 'x' },
        spec: { storageClassName: 's' },
      },
    ],
    [
      'a Job with a string backoffLimit',
      {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'x', namespace: 'isekai' },
        spec: { backoffLimit: 'three', template: { spec: { containers: [{ name: 'x', image: 'i' }] } } },
      },
    ],
    [
      'a PostgreSQL Cluster with a typo in its backup settings',
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Cluster',
        metadata: { name: 'x' },
        spec: { instances: 3, backup: { retentionPolicy: '30 days' } },
      },
    ],
    [
      'a PostgreSQL Cluster with an unknown anti-affinity type',
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'Cluster',
        metadata: { name: 'x' },
        spec: { instances: 3, affinity: { podAntiAffinityType: 'strict' } },
      },
    ],
    [
      'a ScheduledBackup with a five-field (CronJob) schedule',
      {
        apiVersion: 'postgresql.cnpg.io/v1',
        kind: 'ScheduledBackup',
        metadata: { name: 'x' },
        spec: { schedule: '0 3 * * *', cluster: { name: 'postgres' } },
      },
    ],
    ['an unknown kind', { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'x' } }],
  ] as [string, KubeObject][])('rejects %s', async (_name, object) => {
    expect((await validateObject(object)).length).toBeGreaterThan(0);
  });
});

function readdirYaml(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.ya?ml$/.test(f))
    .map((f) => join(dir, f));
}
