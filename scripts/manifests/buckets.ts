/**
 * Object storage wiring, end to end: every bucket a function names in its env is claimed in rook/ (an
 * ObjectBucketClaim with that bucketName), its S3_ENDPOINT is the claim's object store, and the claim's keys
 * reach the function: vault-policies/setup.sh copies the claim's Secret into a shared Vault secret that the
 * function lists in `sharedSecrets` (its policy is checked against that list elsewhere).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FunctionSettings, PendingSettings } from './function-env.ts';
import { type Manifest, ofKind, REPO_ROOT } from './load.ts';
import { json, knativeServices, podSpec, where } from './pod-invariants.ts';

/** Env names that hold a bucket name. */
const BUCKET_ENV = /_BUCKET$/;

/** setup.sh's `for pair in <claim>:<shared> …` list: claim name → shared secret it fills. */
export function setupBucketCopies(setupScript: string): Map<string, string> {
  const line = /^for pair in ([^;]+); do$/m.exec(setupScript)?.[1] ?? '';
  return new Map(
    line
      .split(/\s+/)
      .filter(Boolean)
      .map((p) => p.split(':') as [string, string]),
  );
}

export function readSetupScript(): string {
  return readFileSync(join(REPO_ROOT, 'vault-policies', 'setup.sh'), 'utf8');
}

export function checkBuckets(
  functions: Manifest[],
  rook: Manifest[],
  copies: Map<string, string>,
  declared: Map<string, FunctionSettings | PendingSettings>,
): string[] {
  const out: string[] = [];
  const stores = new Map(
    ofKind(rook, 'StorageClass').map((sc) => [
      sc.object.metadata.name,
      String(json(sc.object.parameters).objectStoreName ?? ''),
    ]),
  );
  const claims = ofKind(rook, 'ObjectBucketClaim').map((c) => {
    const spec = json(c.object.spec);
    return {
      name: c.object.metadata.name,
      namespace: c.object.metadata.namespace,
      bucket: String(spec.bucketName ?? ''),
      store: stores.get(String(spec.storageClassName)),
    };
  });
  for (const c of claims) {
    if (!copies.has(c.name))
      out.push(`claim ${c.namespace}/${c.name}: setup.sh does not copy its keys into Vault`);
  }
  for (const [name, m] of knativeServices(functions)) {
    const container = ((podSpec(m.object)?.containers ?? []) as Record<string, unknown>[])[0] ?? {};
    const env = new Map(
      ((container.env ?? []) as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? '']),
    );
    for (const [key, bucket] of env) {
      if (!BUCKET_ENV.test(key)) continue;
      const claim = claims.find((c) => c.bucket === bucket && c.namespace === m.object.metadata.namespace);
      if (!claim) {
        out.push(`${where(m)}: ${key}=${bucket} has no ObjectBucketClaim in rook/ (nothing provisions it)`);
        continue;
      }
      const endpoint = `http://rook-ceph-rgw-${claim.store}.rook-ceph.svc`;
      if (env.get('S3_ENDPOINT') !== endpoint) {
        out.push(
          `${where(m)}: S3_ENDPOINT ${env.get('S3_ENDPOINT')} is not ${endpoint} (the store of claim ${claim.name})`,
        );
      }
      const shared = copies.get(claim.name);
      const settings = declared.get(name);
      if (shared && !settings?.sharedSecrets.includes(shared)) {
        out.push(
          `${where(m)}: reads bucket ${bucket} but not shared secret ${shared}, where its keys are (claim ${claim.name})`,
        );
      }
      for (const s of ['S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) {
        if (!settings?.vaultSettings.includes(s))
          out.push(`${where(m)}: reads bucket ${bucket} without ${s} from Vault`);
      }
    }
  }
  return out;
}
