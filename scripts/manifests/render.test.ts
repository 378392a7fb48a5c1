import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkEventing, checkVaultWiring, vaultRoles } from './event-invariants.ts';
import {
  checkFunctionEnv,
  checkJobEnv,
  containerEnv,
  loadFunctionSettings,
  VAULT_ADDR,
} from './function-env.ts';
import { kubectlVersion, renderKustomize, renderWithComponents, subsets } from './kustomize.ts';
import { type Manifest, REPO_ROOT } from './load.ts';
import {
  checkContainers,
  checkJobs,
  checkKnativeServices,
  checkNames,
  checkNamespaces,
  checkScaling,
  json,
  knativeServices,
  podSpec,
} from './pod-invariants.ts';
import { validateObject } from './validate.ts';

const K = join(REPO_ROOT, 'knative');
const declared = await loadFunctionSettings();
/** Data workloads whose images read files: the Vault agent (or, without Vault, a Secret) provides them. */
const AGENT_INJECTED = ['keycloak', 'mongodb', 'redis', 'redis-sessions'];
/**
 * The Secret components/no-vault expects (its README): the local overlay generates it. Renders that stack
 * the component elsewhere get the same Secret from outside, so the local one stands in for it.
 */
const LOCAL_SECRET = renderKustomize(join(K, 'overlays/local')).filter(
  (m) => m.object.kind === 'Secret' && m.object.metadata.name === 'isekai-local-secrets',
);
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
      ...checkJobs(rendered),
      ...checkEventing(rendered),
    ]).toEqual([]);
  });

  // Only overlays set images (base keeps the placeholders on purpose), so only they get this test.
  if (combination.root.startsWith('overlays/')) {
    it('sets a real image for every workload (no placeholder tag left)', () => {
      const placeholders = rendered.flatMap((m) =>
        [...JSON.stringify(m.object).matchAll(/"image":"([^"]*placeholder[^"]*)"/g)].map(
          (hit) => `${m.object.kind}/${m.object.metadata.name}: ${hit[1]}`,
        ),
      );
      expect(placeholders).toEqual([]);
    });
  }

  it(`keeps hot paths at min-scale >= ${effective.has('dev-scale') ? 1 : 3} and the rest at 0`, () => {
    expect(checkScaling(rendered, effective.has('dev-scale') ? 1 : 3)).toEqual([]);
  });

  it(
    effective.has('no-vault')
      ? 'functions and Jobs get their Vault settings from the local Secret; data files from a Secret'
      : 'functions and Jobs read Vault at VAULT_ADDR; data workloads get the Vault agent',
    () => {
      expect(checkVaultWiring(rendered, vaultRoles(), declared)).toEqual([]);
      const withPods = rendered.filter((m) => podSpec(m.object));
      const injected = withPods
        .filter((m) => vaultAnnotation(m) === 'true')
        .map((m) => m.object.metadata.name);
      const selfReading: [string, Manifest][] = [
        ...knativeServices(rendered),
        ...rendered
          .filter((m) => m.object.kind === 'Job')
          .map((m): [string, Manifest] => [m.object.metadata.name, m]),
      ];
      expect(selfReading.map(([name]) => name)).toContain('schema-migrate');
      for (const [name, m] of selfReading) {
        const [container] = (podSpec(m.object)?.containers ?? []) as Record<string, unknown>[];
        const env = (container?.env ?? []) as { name: string; value?: string }[];
        const vaultAddr = env.find((e) => e.name === 'VAULT_ADDR')?.value;
        const envFrom = JSON.stringify(container?.envFrom ?? []);
        if (effective.has('no-vault')) {
          expect(vaultAddr, name).toBeUndefined();
          expect(envFrom, name).toContain('"secretRef":{"name":"isekai-local-secrets"}');
        } else {
          expect(vaultAddr, name).toBe(VAULT_ADDR);
          expect(envFrom, name).not.toContain('secretRef');
        }
      }
      if (effective.has('no-vault')) {
        expect(injected).toEqual([]);
        const off = withPods.filter((w) => vaultAnnotation(w) === 'false');
        expect(off.map((m) => m.object.metadata.name).sort()).toEqual(AGENT_INJECTED);
        for (const m of off) {
          const [container] = (podSpec(m.object)?.containers ?? []) as Record<string, unknown>[];
          expect(JSON.stringify(container?.volumeMounts), m.object.metadata.name).toContain('/vault/secrets');
        }
      } else {
        expect(injected.sort()).toEqual(AGENT_INJECTED);
      }
    },
  );

  it('gives every function and Job the env its settings need (Vault placeholders, or the local Secret)', () => {
    const hasSecret = rendered.some(
      (m) => m.object.kind === 'Secret' && m.object.metadata.name === 'isekai-local-secrets',
    );
    const withSecret = effective.has('no-vault') && !hasSecret ? [...rendered, ...LOCAL_SECRET] : rendered;
    expect(LOCAL_SECRET).toHaveLength(1);
    expect(checkFunctionEnv(withSecret, declared)).toEqual([]);
    expect(checkJobEnv(withSecret)).toEqual([]);
  });

  it('points the site’s sessions at redis-sessions (a Service of the StatefulSet, port 6379), not the cache Redis', () => {
    const withSecret = rendered.some(
      (m) => m.object.kind === 'Secret' && m.object.metadata.name === 'isekai-local-secrets',
    )
      ? rendered
      : [...rendered, ...LOCAL_SECRET];
    const site = knativeServices(rendered).get('site');
    const reads = declared.get('site');
    if (!site || !reads) throw new Error('no site Service or settings');
    const url = new URL(String(containerEnv(withSecret, site, reads).env.SESSION_REDIS_URL));
    expect(url.protocol).toBe('redis:');
    expect(`${url.hostname}:${url.port}`).toBe('redis-sessions.isekai-data.svc.cluster.local:6379');
    const service = rendered.find(
      (m) =>
        m.object.kind === 'Service' &&
        m.object.metadata.name === 'redis-sessions' &&
        m.object.metadata.namespace === 'isekai-data',
    );
    const spec = json(service?.object.spec);
    expect(spec.selector).toEqual({ 'app.kubernetes.io/name': 'redis-sessions' });
    expect(spec.ports).toEqual([{ name: 'redis', port: 6379, targetPort: 'redis' }]);
    const set = rendered.find(
      (m) => m.object.kind === 'StatefulSet' && m.object.metadata.name === 'redis-sessions',
    );
    expect(json(set?.object.spec).serviceName).toBe('redis-sessions');
  });

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
