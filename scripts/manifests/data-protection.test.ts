// biome-ignore-all lint/suspicious/noExplicitAny: deep edits of parsed YAML
/**
 * Data protection in the production overlay: each store runs replicated (PostgreSQL ×3 by CloudNativePG,
 * MongoDB a 3-member replica set, RabbitMQ ×3) or persisted (both Redis, AOF; the sessions' never evicts); every workload running more than
 * one replica has a PodDisruptionBudget and is spread across machines; every volume is on Ceph's
 * replicated, Retain-policy block storage; every store has a backup schedule whose bucket is claimed in
 * rook/, whose credentials reach it (Vault/install script → Secret or agent file) and whose pods may talk
 * to RGW and to the store; k3s snapshots its datastore.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readSetupScript, setupBucketCopies } from './buckets.ts';
import { policyCovers, policyRules, vaultRoles } from './event-invariants.ts';
import { renderKustomize } from './kustomize.ts';
import { type Manifest, REPO_ROOT } from './load.ts';
import { canReach, type Pod, podsOf } from './network-policy.ts';
import { checkContainers, json } from './pod-invariants.ts';

const production = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
const rook = renderKustomize(join(REPO_ROOT, 'rook'));
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const installScript = read('k3s/install-platform.sh');

interface Replicated {
  name: string;
  namespace: string;
  replicas: number;
  labels: Record<string, string>;
  spread: boolean;
  /** The operator keeps its own PodDisruptionBudget (CloudNativePG's enablePDB). */
  operatorPdb: boolean;
}

const onHostname = (x: unknown) =>
  JSON.stringify(x ?? null).includes('"topologyKey":"kubernetes.io/hostname"');

function replicated(manifests: Manifest[]): Replicated[] {
  return manifests.flatMap((m): Replicated[] => {
    const spec = json(m.object.spec);
    const base = {
      name: m.object.metadata.name,
      namespace: String(m.object.metadata.namespace),
      operatorPdb: false,
    };
    if (m.object.kind === 'Deployment' || m.object.kind === 'StatefulSet') {
      const template = json(spec.template);
      const pod = json(template.spec);
      return [
        {
          ...base,
          replicas: Number(spec.replicas ?? 1),
          labels: (json(template.metadata).labels ?? {}) as Record<string, string>,
          spread: onHostname(pod.topologySpreadConstraints) || onHostname(json(pod.affinity).podAntiAffinity),
        },
      ];
    }
    if (m.object.kind === 'RabbitmqCluster') {
      return [
        {
          ...base,
          replicas: Number(spec.replicas ?? 1),
          // The operator labels the cluster's pods with its name.
          labels: { 'app.kubernetes.io/name': m.object.metadata.name },
          spread: onHostname(json(spec.affinity).podAntiAffinity),
        },
      ];
    }
    if (m.object.kind === 'Cluster' && m.object.apiVersion.startsWith('postgresql.cnpg.io/')) {
      const affinity = json(spec.affinity);
      return [
        {
          ...base,
          replicas: Number(spec.instances ?? 1),
          labels: {
            ...((json(spec.inheritedMetadata).labels ?? {}) as Record<string, string>),
            'cnpg.io/cluster': m.object.metadata.name,
          },
          // CloudNativePG's own anti-affinity (on unless disabled), or constraints of ours.
          spread:
            (affinity.enablePodAntiAffinity !== false &&
              (affinity.topologyKey ?? 'kubernetes.io/hostname') === 'kubernetes.io/hostname') ||
            onHostname(spec.topologySpreadConstraints),
          operatorPdb: spec.enablePDB !== false,
        },
      ];
    }
    return [];
  });
}

/** Multi-replica workloads without a PodDisruptionBudget or not spread across machines. */
function checkSpread(manifests: Manifest[]): string[] {
  const pdbs = manifests.filter((m) => m.object.kind === 'PodDisruptionBudget');
  const out: string[] = [];
  for (const w of replicated(manifests).filter((x) => x.replicas > 1)) {
    const covered =
      w.operatorPdb ||
      pdbs.some((p) => {
        const match = (json(json(p.object.spec).selector).matchLabels ?? {}) as Record<string, string>;
        return (
          p.object.metadata.namespace === w.namespace &&
          Object.keys(match).length > 0 &&
          Object.entries(match).every(([k, v]) => w.labels[k] === v)
        );
      });
    if (!covered) out.push(`${w.namespace}/${w.name} (${w.replicas} replicas): no PodDisruptionBudget`);
    if (!w.spread) out.push(`${w.namespace}/${w.name} (${w.replicas} replicas): not spread across machines`);
  }
  return out;
}

/** Claimed buckets (rook/ ObjectBucketClaims): bucket name → claim `namespace/name`. */
const claims = new Map(
  rook
    .filter((m) => m.object.kind === 'ObjectBucketClaim')
    .map((m) => [
      String(json(m.object.spec).bucketName),
      `${m.object.metadata.namespace}/${m.object.metadata.name}`,
    ]),
);
/** The S3 endpoint of the claims' object store (Rook's RGW Service for CephObjectStore isekai-objects). */
const RGW = `http://rook-ceph-rgw-${rook.find((m) => m.object.kind === 'CephObjectStore')?.object.metadata.name}.rook-ceph.svc`;
/** Shared Vault secret that setup.sh fills with a claim's keys: claim name → kv path. */
const copies = setupBucketCopies(readSetupScript());
const keysOf = (claim: string) => `kv/isekai/shared/${copies.get(claim.split('/')[1] ?? '')}`;
const RGW_POD: Pod = { name: 'rgw', namespace: 'rook-ceph', labels: { app: 'rook-ceph-rgw' } };

/** Every problem with the stores' backups in `manifests` (empty when each store is backed up for real). */
function checkBackups(manifests: Manifest[]): string[] {
  const out: string[] = [];
  const pods = podsOf(manifests);
  const pod = (name: string) => pods.find((p) => p.name === name);

  // PostgreSQL: CloudNativePG's WAL archive + scheduled base backups to a claimed bucket.
  const cluster = manifests.find((m) => m.object.kind === 'Cluster' && m.object.metadata.name === 'postgres');
  const store = json(json(json(cluster?.object.spec).backup).barmanObjectStore);
  const bucket = /^s3:\/\/([^/]+)/.exec(String(store.destinationPath))?.[1] ?? '';
  const claim = claims.get(bucket);
  if (!claim)
    out.push(`postgres: WAL archive bucket "${bucket}" is claimed by no ObjectBucketClaim in rook/`);
  if (store.endpointURL !== RGW) out.push(`postgres: endpointURL ${String(store.endpointURL)} is not ${RGW}`);
  const creds = json(store.s3Credentials);
  const secrets = new Set([json(creds.accessKeyId).name, json(creds.secretAccessKey).name]);
  for (const secret of secrets) {
    // The install script writes that Secret from the claim's keys in Vault.
    const made = new RegExp(`vault_secret ${String(secret)} \\S+ (\\S+)`).exec(installScript)?.[1];
    if (!claim || made !== keysOf(claim))
      out.push(
        `postgres: Secret ${String(secret)} is not made from bucket ${bucket}'s keys (${made ?? 'nowhere'})`,
      );
  }
  const schedule = manifests.find(
    (m) => m.object.kind === 'ScheduledBackup' && json(json(m.object.spec).cluster).name === 'postgres',
  );
  if (!schedule) out.push('postgres: no ScheduledBackup (base backups)');
  const instance = pod('postgres');
  if (!instance || !canReach(manifests, instance, RGW_POD, 8080))
    out.push('postgres: instances cannot reach RGW');

  // The dump CronJobs: a claimed bucket, RGW, keys through Vault role backup, network to store and RGW.
  const roles = vaultRoles();
  for (const [name, target, port] of [
    ['postgres-dump', 'postgres', 5432],
    ['mongodb-dump', 'mongodb', 27017],
  ] as const) {
    const cron = manifests.find((m) => m.object.kind === 'CronJob' && m.object.metadata.name === name);
    if (!cron) {
      out.push(`${target}: no CronJob ${name}`);
      continue;
    }
    const template = json(json(json(cron.object.spec).jobTemplate).spec).template;
    const podSpec = json(json(template).spec);
    const env = Object.fromEntries(
      ((podSpec.containers ?? []) as { env?: { name: string; value?: string }[] }[])
        .flatMap((c) => c.env ?? [])
        .map((e) => [e.name, e.value]),
    );
    const cronClaim = claims.get(String(env.BACKUP_BUCKET));
    if (!cronClaim)
      out.push(`${name}: BACKUP_BUCKET ${String(env.BACKUP_BUCKET)} is claimed by no ObjectBucketClaim`);
    if (env.S3_ENDPOINT !== RGW) out.push(`${name}: S3_ENDPOINT ${String(env.S3_ENDPOINT)} is not ${RGW}`);
    const annotations = (json(json(template).metadata).annotations ?? {}) as Record<string, string>;
    const role = roles.find((r) => r.role === annotations['vault.hashicorp.com/role']);
    const keys = cronClaim ? keysOf(cronClaim).replace(/^kv\//, 'kv/data/') : '';
    const rendered = Object.entries(annotations)
      .filter(([k]) => k.startsWith('vault.hashicorp.com/agent-inject-template-'))
      .map(([, v]) => v)
      .join('\n');
    if (!role || role.serviceAccount !== podSpec.serviceAccountName) {
      out.push(`${name}: no Vault role binding its ServiceAccount`);
    } else {
      const rules = policyRules(read(join('vault-policies', role.policyFile)));
      if (!rules.some((r) => policyCovers(r.path, keys)) || !rendered.includes(`secret "${keys}"`))
        out.push(`${name}: the bucket's keys (${keys}) do not reach it through Vault`);
    }
    const p = pod(name);
    const storePod = pod(target);
    if (!p || !canReach(manifests, p, RGW_POD, 8080)) out.push(`${name}: cannot reach RGW`);
    if (!p || !storePod || !canReach(manifests, p, storePod, port))
      out.push(`${name}: cannot reach ${target}`);
  }
  return out;
}

describe('data protection (production)', () => {
  it('runs PostgreSQL ×3, MongoDB ×3, RabbitMQ ×3 and Keycloak ×2', () => {
    const counts = Object.fromEntries(replicated(production).map((w) => [w.name, w.replicas]));
    expect(counts).toMatchObject({ postgres: 3, mongodb: 3, rabbitmq: 3, keycloak: 2 });
  });

  it('replicates PostgreSQL quorum-synchronously and MongoDB as replica set rs0 named by every client', () => {
    const cluster = production.find((m) => m.object.kind === 'Cluster');
    expect(json(json(cluster?.object.spec).postgresql).synchronous).toEqual({ method: 'any', number: 1 });
    const mongo = production.find(
      (m) => m.object.kind === 'StatefulSet' && m.object.metadata.name === 'mongodb',
    );
    expect(JSON.stringify(mongo?.object)).toContain('--replSet rs0 --keyFile');
    const seed = read('vault-policies/seed-secrets.sh');
    const hosts = /^MONGO_HOSTS=(\S+)$/m.exec(seed)?.[1]?.split(',') ?? [];
    expect(hosts).toEqual([0, 1, 2].map((i) => `mongodb-${i}.mongodb.isekai-data.svc.cluster.local:27017`));
    expect(seed).toMatch(/MONGO_URL=.*\/isekai\?authSource=admin&replicaSet=rs0"/);
    expect(seed).toContain('PG=postgres-rw.isekai-data.svc.cluster.local:5432');
  });

  it('gives every multi-replica workload a PodDisruptionBudget and spreads it across machines', () => {
    expect(checkSpread(production)).toEqual([]);
  });

  it.each([
    [
      'MongoDB without its PodDisruptionBudget',
      (m: Manifest) => !(m.object.kind === 'PodDisruptionBudget' && m.object.metadata.name === 'mongodb'),
      ['isekai-data/mongodb (3 replicas): no PodDisruptionBudget'],
    ],
    [
      'RabbitMQ without its PodDisruptionBudget',
      (m: Manifest) => !(m.object.kind === 'PodDisruptionBudget' && m.object.metadata.name === 'rabbitmq'),
      ['isekai-data/rabbitmq (3 replicas): no PodDisruptionBudget'],
    ],
  ])('catches %s', (_name, keep, expected) => {
    expect(checkSpread(production.filter(keep))).toEqual(expected);
  });

  it('catches PostgreSQL instances allowed on one machine, and MongoDB members without anti-affinity', () => {
    const broken = structuredClone(production);
    for (const m of broken) {
      if (m.object.kind === 'Cluster') json(json(m.object.spec).affinity).enablePodAntiAffinity = false;
      if (m.object.kind === 'StatefulSet' && m.object.metadata.name === 'mongodb')
        delete json(json(json(m.object.spec).template).spec).affinity;
    }
    expect(checkSpread(broken)).toEqual([
      'isekai-data/mongodb (3 replicas): not spread across machines',
      'isekai-data/postgres (3 replicas): not spread across machines',
    ]);
  });

  it('keeps every volume on replicated Ceph block storage that outlives its claim', () => {
    const classes = new Set([
      ...production
        .filter((m) => m.object.kind === 'StatefulSet')
        .flatMap((m) =>
          ((json(m.object.spec).volumeClaimTemplates ?? []) as { spec: { storageClassName?: string } }[]).map(
            (t) => t.spec.storageClassName,
          ),
        ),
      ...production
        .filter((m) => m.object.kind === 'PersistentVolumeClaim')
        .map((m) => json(m.object.spec).storageClassName),
      ...production
        .filter((m) => m.object.kind === 'Cluster')
        .map((m) => json(json(m.object.spec).storage).storageClass),
    ]);
    expect([...classes]).toEqual(['rook-ceph-block']);
    const sc = rook.find(
      (m) => m.object.kind === 'StorageClass' && m.object.metadata.name === 'rook-ceph-block',
    );
    expect((sc?.object as { reclaimPolicy?: string } | undefined)?.reclaimPolicy).toBe('Retain');
    const pool = rook.find((m) => m.object.kind === 'CephBlockPool');
    expect(json(json(pool?.object.spec).replicated).size).toBe(3);
    expect(json(pool?.object.spec).failureDomain).toBe('host');
  });

  it('keeps the site sessions in a Redis of their own that never evicts, persisted: noeviction, AOF on a Ceph claim, one pod', () => {
    const conf = String(
      json(
        production.find(
          (m) => m.object.kind === 'ConfigMap' && m.object.metadata.name === 'redis-sessions-config',
        )?.object.data,
      )['redis.conf'],
    );
    expect(conf).toMatch(/^maxmemory-policy noeviction$/m);
    expect(conf).toMatch(/^maxmemory \d+mb$/m);
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^appendfsync everysec$/m);
    expect(conf).toMatch(/^dir \/data$/m);
    const set = production.find(
      (m) => m.object.kind === 'StatefulSet' && m.object.metadata.name === 'redis-sessions',
    );
    const spec = json(set?.object.spec);
    expect(spec.replicas).toBe(1);
    const [claim] = spec.volumeClaimTemplates as {
      metadata: { name: string };
      spec: { storageClassName: string };
    }[];
    expect(claim?.metadata.name).toBe('data');
    expect(claim?.spec.storageClassName).toBe('rook-ceph-block');
    const pod = json(json(spec.template).spec);
    const [container] = pod.containers as {
      args: string[];
      volumeMounts: { name: string; mountPath: string }[];
    }[];
    expect(container?.args).toEqual(['/etc/redis/redis.conf']);
    expect(container?.volumeMounts).toEqual(expect.arrayContaining([{ name: 'data', mountPath: '/data' }]));
    // maxmemory below the container's limit: Redis refuses writes before the kernel kills it.
    const limit = String(json(json(json(container).resources).limits).memory);
    expect(Number(/^maxmemory (\d+)mb$/m.exec(conf)?.[1]) * 2 ** 20).toBeLessThan(
      Number(/^(\d+)Mi$/.exec(limit)?.[1]) * 2 ** 20,
    );
  });

  it('persists the cache Redis (a warm cache after a restart): AOF on a volume claim, never an emptyDir', () => {
    const conf = String(
      json(
        production.find((m) => m.object.kind === 'ConfigMap' && m.object.metadata.name === 'redis-config')
          ?.object.data,
      )['redis.conf'],
    );
    expect(conf).toMatch(/^appendonly yes$/m);
    expect(conf).toMatch(/^dir \/data$/m);
    const redis = production.find(
      (m) => m.object.kind === 'Deployment' && m.object.metadata.name === 'redis',
    );
    const pod = json(json(json(redis?.object.spec).template).spec);
    const data = (pod.volumes as { name: string; persistentVolumeClaim?: { claimName: string } }[]).find(
      (v) => v.name === 'data',
    );
    expect(data?.persistentVolumeClaim?.claimName).toBe('redis-data');
    expect(json(json(redis?.object.spec).strategy).type).toBe('Recreate');
    expect(
      production.some(
        (m) => m.object.kind === 'PersistentVolumeClaim' && m.object.metadata.name === 'redis-data',
      ),
    ).toBe(true);
  });

  it('backs up every store to a claimed bucket, with keys and network paths that reach it', () => {
    expect(checkBackups(production)).toEqual([]);
  });

  it.each([
    [
      'a dump to a bucket nobody claimed',
      (m: Manifest) => {
        if (m.object.kind !== 'CronJob' || m.object.metadata.name !== 'mongodb-dump') return;
        const spec = json(json(json(json(m.object.spec).jobTemplate).spec).template).spec;
        for (const c of json(spec).containers as { env: { name: string; value: string }[] }[])
          for (const e of c.env) if (e.name === 'BACKUP_BUCKET') e.value = 'isekai-backup';
      },
      'mongodb-dump: BACKUP_BUCKET isekai-backup is claimed by no ObjectBucketClaim',
    ],
    [
      'a WAL archive without its network path to RGW',
      (m: Manifest) => {
        if (m.object.kind === 'NetworkPolicy' && m.object.metadata.name === 'postgres-cluster')
          json(m.object.spec).egress = [];
      },
      'postgres: instances cannot reach RGW',
    ],
    [
      'a WAL archive to another bucket',
      (m: Manifest) => {
        if (m.object.kind === 'Cluster')
          json(json(json(m.object.spec).backup).barmanObjectStore).destinationPath =
            's3://isekai-subtitles/cnpg/';
      },
      "postgres: Secret backup-store is not made from bucket isekai-subtitles's keys (kv/isekai/shared/backup-store)",
    ],
    [
      'no base backup schedule',
      (m: Manifest) => {
        if (m.object.kind === 'ScheduledBackup') json(json(m.object.spec).cluster).name = 'other';
      },
      'postgres: no ScheduledBackup (base backups)',
    ],
  ])('catches %s', (_name, mutate, expected) => {
    const broken = structuredClone(production);
    for (const m of broken) mutate(m);
    expect(checkBackups(broken)).toContain(expected);
  });

  it('runs the scripts test/integration/backup-restore.test.ts runs (the ConfigMap holds k3s/backup/*.sh)', () => {
    const cm = production.find(
      (m) => m.object.kind === 'ConfigMap' && m.object.metadata.name === 'backup-scripts',
    );
    const data = json(cm?.object.data);
    expect(data['postgres.sh']).toBe(read('k3s/backup/postgres.sh'));
    expect(data['mongodb.sh']).toBe(read('k3s/backup/mongodb.sh'));
  });

  it('hardens the backup containers like every other (init containers included)', () => {
    const jobs = production
      .filter((m) => m.object.kind === 'CronJob')
      .map((m): Manifest => {
        const template = json(json(json(m.object.spec).jobTemplate).spec).template;
        const spec = json(json(template).spec);
        return {
          ...m,
          object: {
            ...m.object,
            apiVersion: 'batch/v1',
            kind: 'Job',
            spec: {
              template: {
                ...json(template),
                spec: {
                  ...spec,
                  containers: [...((spec.initContainers as []) ?? []), ...(spec.containers as [])],
                },
              },
            },
          },
        };
      });
    expect(jobs.map((j) => j.object.metadata.name).sort()).toEqual(['mongodb-dump', 'postgres-dump']);
    expect(checkContainers(jobs)).toEqual([]);
  });

  it('keeps the point-in-time recovery Cluster (k3s/restore/) equal to the live one but for where it starts', () => {
    const live = structuredClone(production.find((m) => m.object.kind === 'Cluster')?.object) as Record<
      string,
      any
    >;
    const restore = parseYaml(read('k3s/restore/postgres-pitr.yaml')) as Record<string, any>;
    expect(restore.spec.bootstrap.recovery.source).toBe(restore.spec.externalClusters[0].name);
    // It recovers from the archive the live Cluster writes, and archives elsewhere (a new timeline).
    const archive = restore.spec.externalClusters[0].barmanObjectStore;
    const liveStore = live.spec.backup.barmanObjectStore;
    for (const key of ['destinationPath', 'endpointURL', 's3Credentials'])
      expect(archive[key], key).toEqual(liveStore[key]);
    expect(archive.serverName ?? live.metadata.name).toBe(liveStore.serverName ?? live.metadata.name);
    expect(restore.spec.backup.barmanObjectStore.serverName).not.toBe(live.metadata.name);
    for (const o of [live, restore]) {
      delete o.spec.bootstrap;
      delete o.spec.externalClusters;
      delete o.spec.backup.barmanObjectStore.serverName;
      delete o.metadata.labels['app.kubernetes.io/managed-by'];
    }
    expect(restore).toEqual(live);
  });

  it('snapshots the k3s datastore every 6 hours, keeps 28, and can upload them to S3', () => {
    const config = /<<CONFIG\n([\s\S]*?)\nCONFIG\n/.exec(read('k3s/install-server.sh'))?.[1] ?? '';
    const parsed = parseYaml(config.replace(/\$\{PUBLIC_NAME\}/g, 'cloud.example')) as Record<
      string,
      unknown
    >;
    expect(parsed).toMatchObject({
      'cluster-init': true,
      'etcd-snapshot-schedule-cron': '0 */6 * * *',
      'etcd-snapshot-retention': 28,
    });
    const s3 = /<<S3\n([\s\S]*?)\nS3\n/.exec(read('k3s/install-server.sh'))?.[1] ?? '';
    expect(Object.keys(parseYaml(s3) as object).sort()).toEqual([
      'etcd-s3',
      'etcd-s3-access-key',
      'etcd-s3-bucket',
      'etcd-s3-endpoint',
      'etcd-s3-folder',
      'etcd-s3-region',
      'etcd-s3-secret-key',
    ]);
  });
});
