/**
 * Data protection in the production overlay: every workload running more than one replica has a
 * PodDisruptionBudget selecting its pods and is spread across machines; every stateful volume is on
 * Ceph's replicated, Retain-policy block storage.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderKustomize } from './kustomize.ts';
import { type Manifest, REPO_ROOT } from './load.ts';
import { json } from './pod-invariants.ts';

const production = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
const rook = renderKustomize(join(REPO_ROOT, 'rook'));

interface Replicated {
  name: string;
  namespace: string;
  replicas: number;
  labels: Record<string, string>;
  spread: boolean;
}

const onHostname = (x: unknown) =>
  JSON.stringify(x ?? null).includes('"topologyKey":"kubernetes.io/hostname"');

function replicated(manifests: Manifest[]): Replicated[] {
  return manifests.flatMap((m): Replicated[] => {
    const spec = json(m.object.spec);
    const base = { name: m.object.metadata.name, namespace: String(m.object.metadata.namespace) };
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
    return [];
  });
}

function check(manifests: Manifest[]): string[] {
  const pdbs = manifests.filter((m) => m.object.kind === 'PodDisruptionBudget');
  const out: string[] = [];
  for (const w of replicated(manifests).filter((x) => x.replicas > 1)) {
    const covered = pdbs.some((p) => {
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

describe('data protection (production)', () => {
  it('runs RabbitMQ ×3 and Keycloak ×2', () => {
    const counts = Object.fromEntries(replicated(production).map((w) => [w.name, w.replicas]));
    expect(counts).toMatchObject({ rabbitmq: 3, keycloak: 2 });
  });

  it('gives every multi-replica workload a PodDisruptionBudget and spreads it across machines', () => {
    expect(check(production)).toEqual([]);
  });

  it('catches a multi-replica workload without a PodDisruptionBudget (RabbitMQ before this check)', () => {
    const without = production.filter(
      (m) => !(m.object.kind === 'PodDisruptionBudget' && m.object.metadata.name === 'rabbitmq'),
    );
    expect(check(without)).toEqual(['isekai-data/rabbitmq (3 replicas): no PodDisruptionBudget']);
  });

  it('keeps every stateful volume on replicated Ceph block storage that outlives its claim', () => {
    const classes = new Set(
      production
        .filter((m) => m.object.kind === 'StatefulSet')
        .flatMap((m) =>
          ((json(m.object.spec).volumeClaimTemplates ?? []) as { spec: { storageClassName?: string } }[]).map(
            (t) => t.spec.storageClassName,
          ),
        ),
    );
    expect([...classes]).toEqual(['rook-ceph-block']);
    const sc = rook.find(
      (m) => m.object.kind === 'StorageClass' && m.object.metadata.name === 'rook-ceph-block',
    );
    expect((sc?.object as { reclaimPolicy?: string } | undefined)?.reclaimPolicy).toBe('Retain');
    const pool = rook.find((m) => m.object.kind === 'CephBlockPool');
    expect(json(json(pool?.object.spec).replicated).size).toBe(3);
    expect(json(pool?.object.spec).failureDomain).toBe('host');
  });
});
