import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkBuckets, readSetupScript, setupBucketCopies } from './buckets.ts';
import { loadFunctionSettings } from './function-env.ts';
import { renderKustomize } from './kustomize.ts';
import { loadManifests, type Manifest, REPO_ROOT } from './load.ts';

const declared = await loadFunctionSettings();
const production = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
const rook = renderKustomize(join(REPO_ROOT, 'rook'));
const copies = setupBucketCopies(readSetupScript());

describe('buckets: claimed in rook/, keys reach the functions that name them', () => {
  it('setup.sh copies both claims into shared secrets', () => {
    expect(Object.fromEntries(copies)).toEqual({ subtitles: 'object-store', backups: 'backup-store' });
  });

  it('holds for the production overlay', () => {
    expect(checkBuckets(production, rook, copies, declared)).toEqual([]);
  });

  it('every function naming a bucket is checked (subtitles, upload-subtitle, library, library-backup)', () => {
    const naming = production
      .filter((m) => m.object.apiVersion.startsWith('serving.knative.dev/'))
      .filter((m) => JSON.stringify(m.object).includes('_BUCKET"'))
      .map((m) => m.object.metadata.name)
      .sort();
    expect(naming).toEqual(['library', 'library-backup', 'subtitles', 'upload-subtitle']);
  });
});

describe('the bucket check catches', () => {
  const withoutBackups = rook.filter(
    (m) => !(m.object.kind === 'ObjectBucketClaim' && m.object.metadata.name === 'backups'),
  );
  it.each<[string, () => string[], RegExp]>([
    [
      'a bucket nothing provisions (isekai-backups before this fix)',
      () => checkBuckets(production, withoutBackups, copies, declared),
      /BACKUP_BUCKET=isekai-backups has no ObjectBucketClaim/,
    ],
    [
      'a claim whose keys setup.sh never copies',
      () => checkBuckets(production, rook, new Map([['subtitles', 'object-store']]), declared),
      /claim isekai\/backups: setup.sh does not copy/,
    ],
    [
      'a function that does not read the shared secret holding its bucket keys',
      () => {
        const lib = declared.get('library');
        if (!lib) throw new Error('no library settings');
        const without = new Map(declared).set('library', { ...lib, sharedSecrets: ['redis'] });
        return checkBuckets(production, rook, copies, without);
      },
      /library: reads bucket isekai-backups but not shared secret backup-store/,
    ],
    [
      'an endpoint that is not the claim’s object store',
      () =>
        checkBuckets(
          mutateEnv(loadManifests(), 'subtitles', 'S3_ENDPOINT', 'http://minio:9000'),
          rook,
          copies,
          declared,
        ),
      /S3_ENDPOINT http:\/\/minio:9000 is not http:\/\/rook-ceph-rgw-isekai-objects\.rook-ceph\.svc/,
    ],
  ])('%s', (_n, run, message) => expect(run().join('\n')).toMatch(message));
});

function mutateEnv(manifests: Manifest[], service: string, key: string, value: string): Manifest[] {
  const copy = structuredClone(manifests);
  const m = copy.find(
    (x) => x.object.apiVersion.startsWith('serving.knative.dev/') && x.object.metadata.name === service,
  );
  if (!m) throw new Error(`no ksvc ${service}`);
  // biome-ignore lint/suspicious/noExplicitAny: a deep edit of parsed YAML
  const env = (m.object.spec as any).template.spec.containers[0].env as { name: string; value: string }[];
  const entry = env.find((e) => e.name === key);
  if (!entry) throw new Error(`${service} has no ${key}`);
  entry.value = value;
  return copy;
}
