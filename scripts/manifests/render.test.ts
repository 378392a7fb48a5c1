import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkEventing, checkVaultWiring, vaultRoles } from './event-invariants.ts';
import { kubectlVersion, renderKustomize, renderWithComponents, subsets } from './kustomize.ts';
import { type Manifest, REPO_ROOT } from './load.ts';
import {
  checkContainers,
  checkKnativeServices,
  checkNames,
  checkNamespaces,
  checkScaling,
  json,
  podSpec,
} from './pod-invariants.ts';
import { validateObject } from './validate.ts';

const K = join(REPO_ROOT, 'knative');
const COMPONENTS = ['high-availability', 'no-vault', 'dev-scale'] as const;
/** Each root with the components it already includes (not stacked a second time). */
const ROOTS: Record<string, readonly string[]> = {
  base: [],
  'overlays/production': ['high-availability'],
  'overlays/local': ['no-vault', 'dev-scale'],
};

interface Combination {
  name: string;
  root: string;
  components: string[];
  /** All components in effect: included by the root or stacked on top. */
  effective: Set<string>;
}

const combinations: Combination[] = Object.entries(ROOTS).flatMap(([root, included]) =>
  subsets(COMPONENTS.filter((c) => !included.includes(c))).map((extra) => ({
    name: [root, ...extra].join(' + '),
    root,
    components: extra,
    effective: new Set([...included, ...extra]),
  })),
);

describe('render: kubectl kustomize', () => {
  it('kubectl is installed (CI: install kubectl >= 1.27; its built-in kustomize renders)', () => {
    expect(kubectlVersion()).toMatch(/Client Version/);
  });

  it('renders the Rook kustomization', () => {
    expect(renderKustomize(join(REPO_ROOT, 'rook')).map((m) => m.object.kind)).toContain('CephCluster');
  });

  it('covers every overlay × component combination', () => {
    expect(combinations.map((c) => c.name)).toEqual(
      expect.arrayContaining(['base', 'overlays/production', 'overlays/local']),
    );
    expect(combinations).toHaveLength(8 + 4 + 2);
  });
});

describe.each(combinations)('render: $name', (combination) => {
  const rendered: Manifest[] = renderWithComponents(
    join(K, combination.root),
    combination.components.map((c) => join(K, 'components', c)),
  );
  const effective = combination.effective;

  it('validates every object against its schema', async () => {
    const errors = await Promise.all(
      rendered.map(async (m) =>
        (await validateObject(m.object)).map((e) => `${m.object.kind}/${m.object.metadata.name}: ${e}`),
      ),
    );
    expect(errors.flat()).toEqual([]);
  });

  it('keeps explicit namespaces, kebab-case names, hardened containers and valid Knative Services', () => {
    expect([
      ...checkNamespaces(rendered),
      ...checkNames(rendered),
      ...checkContainers(rendered),
      ...checkKnativeServices(rendered),
      ...checkEventing(rendered),
    ]).toEqual([]);
  });

  it(`keeps hot paths at min-scale >= ${effective.has('dev-scale') ? 1 : 3} and the rest at 0`, () => {
    expect(checkScaling(rendered, effective.has('dev-scale') ? 1 : 3)).toEqual([]);
  });

  it(
    effective.has('no-vault')
      ? 'injects no Vault agent; /vault/secrets comes from a Secret'
      : 'wires Vault roles and policies',
    () => {
      expect(checkVaultWiring(rendered, vaultRoles())).toEqual([]);
      const withPods = rendered.filter((m) => podSpec(m.object));
      const injected = withPods.filter((m) => vaultAnnotation(m) === 'true');
      if (effective.has('no-vault')) {
        expect(injected).toEqual([]);
        for (const m of withPods.filter((w) => vaultAnnotation(w) === 'false')) {
          const [container] = (podSpec(m.object)?.containers ?? []) as Record<string, unknown>[];
          expect(JSON.stringify(container?.volumeMounts), m.object.metadata.name).toContain('/vault/secrets');
        }
      } else {
        expect(injected.length).toBeGreaterThanOrEqual(10);
      }
    },
  );

  if (combination.root === 'overlays/production') {
    it('pins released images (no placeholder tag)', () => {
      expect(JSON.stringify(rendered)).not.toContain('0.0.0-placeholder');
    });
  }
});

function vaultAnnotation(m: Manifest): string | undefined {
  const template = json(json(m.object.spec).template);
  return (json(template.metadata).annotations as Record<string, string> | undefined)?.[
    'vault.hashicorp.com/agent-inject'
  ];
}
