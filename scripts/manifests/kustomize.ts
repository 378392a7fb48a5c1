/**
 * Renders kustomizations with `kubectl kustomize` (kubectl's built-in kustomize). No cluster needed.
 * CI must install kubectl (any version >= 1.27, whose kustomize supports components and regex targets).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { stringify } from 'yaml';
import { type Manifest, parseManifests, REPO_ROOT } from './load.ts';

/** The kubectl version line, or an Error explaining that kubectl is required. */
export function kubectlVersion(): string {
  try {
    return execFileSync('kubectl', ['version', '--client'], { encoding: 'utf8' }).split('\n')[0] ?? '';
  } catch (cause) {
    throw new Error('kubectl is required to render kustomizations (CI: install kubectl >= 1.27)', { cause });
  }
}

/** Renders the kustomization in `dir` and parses the output. */
export function renderKustomize(dir: string): Manifest[] {
  const out = execFileSync('kubectl', ['kustomize', dir], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseManifests(out, `kubectl kustomize ${relative(REPO_ROOT, dir) || '.'}`);
}

/**
 * Renders `root` (a base or overlay) with extra `components` stacked on top, through a temporary
 * kustomization (kustomize refuses absolute paths, so they are made relative to the temp dir).
 */
export function renderWithComponents(root: string, components: string[]): Manifest[] {
  if (components.length === 0) return renderKustomize(root);
  const dir = mkdtempSync(join(tmpdir(), 'isekai-kustomize-'));
  try {
    const kustomization = {
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: [relative(dir, root)],
      components: components.map((c) => relative(dir, c)),
    };
    writeFileSync(join(dir, 'kustomization.yaml'), stringify(kustomization));
    return renderKustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every subset of `items` (the empty one included), in a stable order. */
export function subsets<T>(items: readonly T[]): T[][] {
  return items.reduce<T[][]>((acc, item) => acc.concat(acc.map((s) => [...s, item])), [[]]);
}
