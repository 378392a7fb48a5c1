import { describe, expect, it } from 'vitest';
import { checkEventing, checkVaultWiring, vaultRoles } from './event-invariants.ts';
import { checkFunctionEnv, checkJobEnv, loadFunctionSettings } from './function-env.ts';
import { loadManifests, type Manifest } from './load.ts';
import {
  checkContainers,
  checkJobs,
  checkKnativeServices,
  checkNames,
  checkNamespaces,
  checkScaling,
  knativeServices,
  podSpec,
} from './pod-invariants.ts';

const base = loadManifests();
const declared = await loadFunctionSettings();

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate parsed YAML at arbitrary depth
type Json = Record<string, any>;
/** A deep copy of knative/base with `mutate` applied to the object `kind/name`. */
function mutated(kind: string, name: string, mutate: (o: Json) => void): Manifest[] {
  const copy = structuredClone(base);
  const target = copy.find((m) => m.object.kind === kind && m.object.metadata.name === name);
  if (!target) throw new Error(`${kind}/${name} not in knative/base`);
  mutate(target.object as Json);
  return copy;
}
const container = (o: Json): Json => o.spec.template.spec.containers[0];
const annotations = (o: Json): Json => o.spec.template.metadata.annotations;
/** The container's env entry `name` (throws when the manifest has none, so a mutation never misses). */
const envEntry = (o: Json, name: string): Json => {
  const entry = container(o).env.find((e: Json) => e.name === name);
  if (!entry) throw new Error(`no env ${name}`);
  return entry;
};

describe('invariants hold on knative/base as written', () => {
  it.each([
    ['explicit namespaces', () => checkNamespaces(base)],
    ['kebab-case names <= 63 chars', () => checkNames(base)],
    ['hot paths min-scale >= 3, others 0', () => checkScaling(base, 3)],
    ['hardened containers with requests, limits and probes', () => checkContainers(base)],
    ['Knative Services within the webhook field mask', () => checkKnativeServices(base)],
    ['Broker, Triggers, SinkBindings and PingSource consistent', () => checkEventing(base)],
    [
      'Vault roles and policies allow exactly what each function reads',
      () => checkVaultWiring(base, vaultRoles(), declared),
    ],
    ["each function's container env passes its own settings schemas", () => checkFunctionEnv(base, declared)],
    ['Jobs bounded, cleaned up, with their own image and ServiceAccount', () => checkJobs(base)],
    ["each Job's container gets its Vault settings and sets nothing else", () => checkJobEnv(base)],
  ])('%s', (_name, check) => expect(check()).toEqual([]));

  it('checks the schema-migrate Job as a workload (pod spec found, probes not required)', () => {
    const job = base.find((m) => m.object.kind === 'Job' && m.object.metadata.name === 'schema-migrate');
    expect(job?.file).toBe('knative/base/250-schema-migrate.yaml');
    expect(job && podSpec(job.object)).toBeDefined();
  });

  it('has one Knative Service per function, each in its own 400-<name>.yaml', () => {
    for (const [name, m] of knativeServices(base)) expect(m.file).toBe(`knative/base/400-${name}.yaml`);
  });
});

describe('invariants catch what they promise to catch', () => {
  it.each([
    [
      'a hot path at min-scale 1',
      (o: Json) => {
        annotations(o)['autoscaling.knative.dev/min-scale'] = '1';
      },
      'catalog',
    ],
    [
      'a hot path without min-scale',
      (o: Json) => {
        delete annotations(o)['autoscaling.knative.dev/min-scale'];
      },
      'edge-auth',
    ],
    [
      'a scale-to-zero function kept warm',
      (o: Json) => {
        annotations(o)['autoscaling.knative.dev/min-scale'] = '1';
      },
      'notify',
    ],
  ])('scaling: %s', (_n, mutate, name) => {
    expect(checkScaling(mutated('Service', name, mutate), 3)).not.toEqual([]);
  });

  it.each([
    [
      'root allowed',
      (o: Json) => {
        container(o).securityContext.runAsNonRoot = false;
      },
    ],
    [
      'capabilities kept',
      (o: Json) => {
        delete container(o).securityContext.capabilities;
      },
    ],
    [
      'no seccomp',
      (o: Json) => {
        delete container(o).securityContext.seccompProfile;
      },
    ],
    [
      'writable root',
      (o: Json) => {
        container(o).securityContext.readOnlyRootFilesystem = false;
      },
    ],
    [
      'no memory limit',
      (o: Json) => {
        delete container(o).resources.limits.memory;
      },
    ],
    [
      'no liveness probe',
      (o: Json) => {
        delete container(o).livenessProbe;
      },
    ],
    [
      'readiness on the wrong path',
      (o: Json) => {
        container(o).readinessProbe.httpGet.path = '/';
      },
    ],
  ])('containers: %s', (_n, mutate) => {
    expect(checkContainers(mutated('Service', 'library', mutate))).not.toEqual([]);
  });

  it.each([
    [
      'a lifecycle hook (Knative rejects it)',
      (o: Json) => {
        container(o).lifecycle = {};
      },
    ],
    [
      'initContainers',
      (o: Json) => {
        o.spec.template.spec.initContainers = [];
      },
    ],
    [
      'a second port',
      (o: Json) => {
        container(o).ports.push({ containerPort: 9090 });
      },
    ],
    [
      "another function's image",
      (o: Json) => {
        container(o).image = 'ghcr.io/isekai/catalog:1';
      },
    ],
    [
      'a wrong FF target',
      (o: Json) => {
        envEntry(o, 'FUNCTION_TARGET').value = 'rate';
      },
    ],
  ])('Knative Services: %s', (_n, mutate) => {
    expect(checkKnativeServices(mutated('Service', 'rate-anime', mutate))).not.toEqual([]);
  });

  it.each([
    [
      'a Trigger to a missing Service',
      'Trigger',
      'notify-episode-aired',
      (o: Json) => {
        o.spec.subscriber.ref.name = 'notifier';
      },
    ],
    [
      'a Trigger on a missing Broker',
      'Trigger',
      'notify-episode-aired',
      (o: Json) => {
        o.spec.broker = 'other';
      },
    ],
    [
      'a Trigger without parallelism',
      'Trigger',
      'notify-episode-aired',
      (o: Json) => {
        delete o.metadata.annotations;
      },
    ],
    [
      'a Trigger without dead-letter sink',
      'Trigger',
      'notify-subtitle-removed',
      (o: Json) => {
        delete o.spec.delivery.deadLetterSink;
      },
    ],
    [
      'a Broker without dead-letter sink',
      'Broker',
      'default',
      (o: Json) => {
        delete o.spec.delivery.deadLetterSink;
      },
    ],
    [
      'a Broker of another class',
      'Broker',
      'default',
      (o: Json) => {
        o.metadata.annotations['eventing.knative.dev/broker.class'] = 'MTChannelBasedBroker';
      },
    ],
    [
      'a RabbitmqCluster closed to isekai',
      'RabbitmqCluster',
      'rabbitmq',
      (o: Json) => {
        delete o.metadata.annotations;
      },
    ],
    [
      'a SinkBinding to a missing Service',
      'SinkBinding',
      'library-events',
      (o: Json) => {
        o.spec.subject.name = 'lib';
      },
    ],
    [
      'a PingSource with a bad schedule',
      'PingSource',
      'outbox-relay-tick',
      (o: Json) => {
        o.spec.schedule = 'every minute';
      },
    ],
    [
      'a dropped SinkBinding of a producer',
      'SinkBinding',
      'rate-anime-events',
      (o: Json) => {
        o.spec.subject.name = 'library';
      },
    ],
  ])('eventing: %s', (_n, kind, name, mutate) => {
    expect(checkEventing(mutated(kind, name, mutate))).not.toEqual([]);
  });

  it('eventing: a Trigger filtering without type is rejected when loaded', () => {
    const broken = mutated('Trigger', 'notify-episode-aired', (o) => {
      o.spec.filter.attributes = { source: 'x' };
    });
    expect(() => checkEventing(broken)).toThrow('type is required');
  });

  it.each([
    [
      'a Vault agent annotation on a function',
      'Service',
      'catalog',
      (o: Json) => {
        annotations(o)['vault.hashicorp.com/agent-inject'] = 'true';
      },
    ],
    [
      'a function running as another ServiceAccount',
      'Service',
      'catalog',
      (o: Json) => {
        o.spec.template.spec.serviceAccountName = 'library';
      },
    ],
    [
      'a data workload injecting a path outside its policy',
      'StatefulSet',
      'mongodb',
      (o: Json) => {
        annotations(o)['vault.hashicorp.com/agent-inject-secret-x'] = 'kv/data/isekai/catalog/config';
      },
    ],
    [
      'a data workload with an unknown role',
      'StatefulSet',
      'mongodb',
      (o: Json) => {
        annotations(o)['vault.hashicorp.com/role'] = 'admin';
      },
    ],
    [
      'a backup CronJob injecting a path outside its policy',
      'CronJob',
      'postgres-dump',
      (o: Json) => {
        o.spec.jobTemplate.spec.template.metadata.annotations['vault.hashicorp.com/agent-inject-secret-x'] =
          'kv/data/isekai/catalog/config';
      },
    ],
  ])('vault: %s', (_n, kind, name, mutate) => {
    expect(checkVaultWiring(mutated(kind, name, mutate), vaultRoles(), declared)).not.toEqual([]);
  });

  it('vault: a function reading a shared secret its policy does not allow', () => {
    const catalog = declared.get('catalog');
    if (!catalog) throw new Error('catalog has no settings');
    const more = new Map(declared).set('catalog', { ...catalog, sharedSecrets: ['redis', 'object-store'] });
    expect(checkVaultWiring(base, vaultRoles(), more)).toEqual([
      expect.stringContaining('does not allow reading kv/data/isekai/shared/object-store'),
    ]);
  });

  it('vault: a policy granting more than the function reads', () => {
    const catalog = declared.get('catalog');
    if (!catalog) throw new Error('catalog has no settings');
    const fewer = new Map(declared).set('catalog', { ...catalog, sharedSecrets: [] });
    expect(checkVaultWiring(base, vaultRoles(), fewer)).toEqual([
      'catalog.hcl: kv/data/isekai/shared/redis is more than catalog reads',
    ]);
  });

  it.each([
    [
      'a required setting missing (OIDC_ISSUER)',
      'Service',
      'catalog',
      (o: Json) => {
        container(o).env = container(o).env.filter((e: Json) => e.name !== 'OIDC_ISSUER');
      },
      'OIDC_ISSUER is required',
    ],
    [
      'the old name of a setting (ZIPKIN_ENDPOINT for ZIPKIN_URL)',
      'Service',
      'edge-auth',
      (o: Json) => {
        envEntry(o, 'ZIPKIN_URL').name = 'ZIPKIN_ENDPOINT';
      },
      'env ZIPKIN_ENDPOINT is not a setting edge-auth reads',
    ],
    [
      'a bad value (LOG_LEVEL verbose)',
      'Service',
      'dead-letters',
      (o: Json) => {
        envEntry(o, 'LOG_LEVEL').value = 'verbose';
      },
      'LOG_LEVEL',
    ],
    [
      'no VAULT_ADDR, so DATABASE_URL never arrives',
      'Service',
      'library',
      (o: Json) => {
        container(o).env = container(o).env.filter((e: Json) => e.name !== 'VAULT_ADDR');
      },
      'DATABASE_URL is required',
    ],
    [
      'a credential in the manifest (DATABASE_URL)',
      'Service',
      'rate-anime',
      (o: Json) => {
        container(o).env.push({ name: 'DATABASE_URL', value: 'postgres://isekai:pw@postgres/isekai' });
      },
      'env DATABASE_URL comes from Vault',
    ],
    [
      'K_SINK set by hand beside its SinkBinding',
      'Service',
      'integrator-ingress',
      (o: Json) => {
        container(o).env.push({ name: 'K_SINK', value: 'http://broker' });
      },
      'K_SINK is injected by a SinkBinding',
    ],
    [
      'a SinkBinding that no longer targets outbox-relay (K_SINK missing)',
      'SinkBinding',
      'outbox-relay-events',
      (o: Json) => {
        o.spec.subject.name = 'library';
      },
      'K_SINK is required',
    ],
    [
      'a setting read from a secretKeyRef the test cannot resolve',
      'Service',
      'catalog',
      (o: Json) => {
        envEntry(o, 'OIDC_ISSUER').valueFrom = { secretKeyRef: { name: 'x', key: 'y' } };
        delete envEntry(o, 'OIDC_ISSUER').value;
      },
      'env OIDC_ISSUER has no literal value',
    ],
  ])('function env: %s', (_n, kind, name, mutate, expected) => {
    const problems = checkFunctionEnv(mutated(kind, name, mutate), declared);
    expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
  });

  it.each([
    [
      'root allowed',
      (o: Json) => {
        container(o).securityContext.runAsNonRoot = false;
      },
      checkContainers,
    ],
    [
      'writable root',
      (o: Json) => {
        container(o).securityContext.readOnlyRootFilesystem = false;
      },
      checkContainers,
    ],
    [
      'no CPU request',
      (o: Json) => {
        delete container(o).resources.requests.cpu;
      },
      checkContainers,
    ],
    [
      'a readiness probe (nothing routes to a Job)',
      (o: Json) => {
        container(o).readinessProbe = { exec: { command: ['true'] } };
      },
      checkContainers,
    ],
    [
      'no backoffLimit',
      (o: Json) => {
        delete o.spec.backoffLimit;
      },
      checkJobs,
    ],
    [
      'no ttlSecondsAfterFinished',
      (o: Json) => {
        delete o.spec.ttlSecondsAfterFinished;
      },
      checkJobs,
    ],
    [
      'restartPolicy Always',
      (o: Json) => {
        o.spec.template.spec.restartPolicy = 'Always';
      },
      checkJobs,
    ],
    [
      "a function's image",
      (o: Json) => {
        container(o).image = 'ghcr.io/isekai/catalog:1';
      },
      checkJobs,
    ],
    [
      "a function's ServiceAccount",
      (o: Json) => {
        o.spec.template.spec.serviceAccountName = 'catalog';
      },
      checkJobs,
    ],
    [
      'a Job not in the catalogue',
      (o: Json) => {
        o.metadata.name = 'seed-data';
      },
      checkJobs,
    ],
    [
      'running as a ServiceAccount its Vault role does not bind',
      (o: Json) => {
        o.spec.template.spec.serviceAccountName = 'library';
      },
      (m: Manifest[]) => checkVaultWiring(m, vaultRoles(), declared),
    ],
    [
      'a Vault agent annotation',
      (o: Json) => {
        o.spec.template.metadata.annotations = { 'vault.hashicorp.com/agent-inject': 'true' };
      },
      (m: Manifest[]) => checkVaultWiring(m, vaultRoles(), declared),
    ],
    [
      'no VAULT_ADDR, so DATABASE_URL never arrives',
      (o: Json) => {
        container(o).env = container(o).env.filter((e: Json) => e.name !== 'VAULT_ADDR');
      },
      checkJobEnv,
    ],
    [
      'a credential in the manifest (DATABASE_URL)',
      (o: Json) => {
        container(o).env.push({ name: 'DATABASE_URL', value: 'postgres://owner:pw@postgres/isekai' });
      },
      checkJobEnv,
    ],
  ])('Job schema-migrate: %s', (_n, mutate, check) => {
    expect(check(mutated('Job', 'schema-migrate', mutate))).not.toEqual([]);
  });

  it('vault: a Job whose role has no policy rule for its config', () => {
    const roles = vaultRoles().map((r) =>
      r.role === 'schema-migrate' ? { ...r, policyFile: 'outbox-relay.hcl' } : r,
    );
    expect(checkVaultWiring(base, roles, declared)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('does not allow reading kv/data/isekai/schema-migrate/config'),
      ]),
    );
  });

  it.each([
    [
      'a missing namespace',
      (o: Json) => {
        delete o.metadata.namespace;
      },
      checkNamespaces,
    ],
    [
      'a snake_case name',
      (o: Json) => {
        o.metadata.name = 'rate_anime';
      },
      checkNames,
    ],
    [
      'a 64-character name',
      (o: Json) => {
        o.metadata.name = 'a'.repeat(64);
      },
      checkNames,
    ],
  ])('metadata: %s', (_n, mutate, check) => {
    expect(check(mutated('ServiceAccount', 'rate-anime', mutate))).not.toEqual([]);
  });
});
