/**
 * A recording fake of `kubectl` and `vault` for the install test (install.test.ts): run as
 * `node fake-cluster.ts kubectl|vault ARGS…` through wrappers placed first on PATH. It keeps a small model
 * of a cluster in a JSON file and refuses what the real API server and Vault would refuse:
 * - applying an object into a namespace that does not exist, or of a kind whose CRD is not installed;
 * - waiting on an object never applied, or on something that cannot become true yet (Vault Ready while
 *   sealed, functions Ready before Vault is configured, a PostgreSQL Cluster whose Secrets do not exist, a
 *   workload whose Vault agent has no role to log in as or no secret to render);
 * - a release whose CRDs only fit server-side apply (CloudNativePG) applied client-side;
 * - a Secret generated on the fly (applied from stdin) applied client-side: kubectl would copy its values into
 *   the last-applied-configuration annotation (the local overlay's committed dev Secrets come from a file);
 * - `exec` into a pod of a StatefulSet never applied, or a script from a ConfigMap never applied;
 * - any Vault call but status/init/unseal while sealed or without the root token.
 * Every call is appended to FAKE_LOG as a JSON line. FAKE_FAIL (a regular expression) makes the `wait`s
 * and `rollout status`es whose arguments match time out, as a real one would.
 * Environment: FAKE_STATE, FAKE_LOG, FAKE_FAIL, REAL_KUBECTL (for `kubectl kustomize`).
 * `fakeCall` is the same fake as a function of one call (environment, working directory, stdin): what
 * fake-cluster-server.ts serves to its shell clients, so that a call does not cost a Node start.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

export interface FakeState {
  namespaces: string[];
  /** API groups served (`group`), or single kinds (`group/Kind`) a release adds to a group already there. */
  apis: string[];
  /** Applied objects, `group/Kind/namespace/name`. */
  objects: string[];
  helmCharts: string[];
  /** Secrets each applied object names (`group/Kind/namespace/name` → Secret names), for readiness. */
  secretRefs?: Record<string, string[]>;
  /**
   * Workloads whose pods get the Vault agent (`vault.hashicorp.com/agent-inject: "true"`): the role it logs in
   * as and the KV paths it renders (`kv/<path>`, KV v2's `data/` removed), for readiness.
   */
  vaultAgents?: Record<string, { role: string; paths: string[] }>;
  vault: {
    initialized: boolean;
    sealed: boolean;
    progress: number;
    keys: string[];
    rootToken: string;
    mounts: string[];
    auths: string[];
    policies: string[];
    roles: string[];
    kv: Record<string, Record<string, string>>;
    reachable: boolean;
  };
}

export interface FakeCall {
  tool: string;
  args: string[];
  exit: number;
  error?: string;
}

export function initialState(): FakeState {
  return {
    namespaces: ['default', 'kube-system', 'kube-public', 'kube-node-lease'],
    apis: [
      '',
      'apps',
      'batch',
      'rbac.authorization.k8s.io',
      'storage.k8s.io',
      'policy',
      'networking.k8s.io',
      'helm.cattle.io',
    ],
    objects: [],
    helmCharts: [],
    vault: {
      initialized: false,
      sealed: true,
      progress: 0,
      keys: [],
      rootToken: '',
      mounts: [],
      auths: [],
      policies: [],
      roles: [],
      kv: {},
      reachable: false,
    },
  };
}

/** What each upstream release file creates and needs (the real files are not fetched). */
const RELEASES: {
  match: string | RegExp;
  namespaces?: string[];
  apis?: string[];
  needs?: string[];
  /** Its CRDs exceed the 256 KiB last-applied annotation: only `apply --server-side` succeeds. */
  serverSide?: boolean;
  objects?: string[];
}[] = [
  {
    match: '/cert-manager.yaml',
    namespaces: ['cert-manager'],
    apis: ['cert-manager.io', 'acme.cert-manager.io'],
  },
  {
    match: '/serving-crds.yaml',
    apis: ['serving.knative.dev', 'autoscaling.internal.knative.dev', 'networking.internal.knative.dev'],
  },
  { match: '/serving-core.yaml', namespaces: ['knative-serving'], needs: ['api:serving.knative.dev'] },
  {
    match: '/kourier.yaml',
    namespaces: ['kourier-system'],
    needs: ['ns:knative-serving'],
    objects: ['apps/Deployment/kourier-system/3scale-kourier-gateway'],
  },
  {
    match: '/eventing-crds.yaml',
    apis: ['eventing.knative.dev', 'sources.knative.dev', 'messaging.knative.dev', 'flows.knative.dev'],
  },
  { match: '/eventing-core.yaml', namespaces: ['knative-eventing'], needs: ['api:eventing.knative.dev'] },
  { match: '/cluster-operator.yml', namespaces: ['rabbitmq-system'], apis: ['rabbitmq.com'] },
  {
    match: '/messaging-topology-operator-with-certmanager.yaml',
    needs: ['ns:rabbitmq-system', 'api:cert-manager.io', 'api:rabbitmq.com'],
  },
  {
    match: '/rabbitmq-broker.yaml',
    apis: ['eventing.knative.dev/RabbitmqBrokerConfig'],
    needs: ['ns:knative-eventing', 'api:eventing.knative.dev', 'api:rabbitmq.com'],
  },
  {
    match: /\/cnpg-\d+\.\d+\.\d+\.yaml$/,
    namespaces: ['cnpg-system'],
    apis: ['postgresql.cnpg.io'],
    serverSide: true,
  },
];
/** Kinds a release adds to a group that another release serves. */
const LATE_KINDS = new Set(['eventing.knative.dev/RabbitmqBrokerConfig']);
/** What k3s' Helm controller installs for each chart of ours. */
const CHARTS: Record<string, { namespace: string; apis: string[]; objects: string[] }> = {
  'rook-ceph': {
    namespace: 'rook-ceph',
    apis: ['ceph.rook.io', 'objectbucket.io'],
    objects: ['apps/Deployment/rook-ceph/rook-ceph-operator'],
  },
  vault: {
    namespace: 'vault',
    apis: [],
    objects: [
      '/Pod/vault/vault-0',
      'apps/StatefulSet/vault/vault',
      'apps/Deployment/vault/vault-agent-injector',
    ],
  },
};
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'StorageClass',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
]);
/** Workloads (group/Kind/namespace/name) whose pods mount or read these Secrets of their namespace. */
const SECRETS_NEEDED: Record<string, string[]> = {
  'apps/Deployment/monitoring/alertmanager': ['alertmanager-receiver'],
  'apps/Deployment/monitoring/grafana': ['grafana-admin'],
};
/** `kubectl wait` resource names → group/Kind. */
const RESOURCES: Record<string, string> = {
  ksvc: 'serving.knative.dev/Service',
  broker: 'eventing.knative.dev/Broker',
  trigger: 'eventing.knative.dev/Trigger',
  sinkbinding: 'sources.knative.dev/SinkBinding',
  pingsource: 'sources.knative.dev/PingSource',
  job: 'batch/Job',
  rabbitmqcluster: 'rabbitmq.com/RabbitmqCluster',
  cephcluster: 'ceph.rook.io/CephCluster',
  cephobjectstore: 'ceph.rook.io/CephObjectStore',
  'clusters.postgresql.cnpg.io': 'postgresql.cnpg.io/Cluster',
  objectbucketclaim: 'objectbucket.io/ObjectBucketClaim',
  statefulset: 'apps/StatefulSet',
  deployment: 'apps/Deployment',
  pod: '/Pod',
  secret: '/Secret',
};

/** kubectl flags whose value may follow as the next argument. */
const VALUE_FLAGS = new Set([
  '-c',
  '--container',
  '-n',
  '--namespace',
  '-l',
  '--selector',
  '-f',
  '--filename',
  '-k',
  '-o',
  '--output',
  '--patch-file',
]);

/** A refusal: the message goes to stderr (or `stdout`, as `vault status` prints a sealed status). */
class Refused extends Error {
  readonly exit: number;
  readonly stdout: string;
  constructor(message: string, exit = 1, stdout = '') {
    super(message);
    this.exit = exit;
    this.stdout = stdout;
  }
}

/** What one call of the fake sees of its caller: the environment variables above and the working directory. */
export interface CallContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Relative paths in arguments (`apply -f platform/vault.yaml`, a policy file) are resolved against it. */
  readonly cwd: string;
}

const load = (stateFile: string): FakeState =>
  existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as FakeState) : initialState();
/**
 * Writes the state back only when this call changed it, atomically (a port-forward runs beside the
 * script's own calls: a reader must never see half a file, nor a read-only call undo another's change).
 */
const save = (stateFile: string, s: FakeState, before: string) => {
  const text = JSON.stringify(s);
  if (text === before) return;
  writeFileSync(`${stateFile}.${process.pid}`, text);
  renameSync(`${stateFile}.${process.pid}`, stateFile);
};
const flag = (args: string[], name: string): string | undefined => {
  const i = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (i < 0) return undefined;
  const a = args[i] ?? '';
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1];
};
const namespaceOf = (args: string[]) => flag(args, '-n') ?? flag(args, '--namespace') ?? 'default';
const groupOf = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0] : '') ?? '';
const served = (s: FakeState, group: string, kind: string) =>
  LATE_KINDS.has(`${group}/${kind}`) ? s.apis.includes(`${group}/${kind}`) : s.apis.includes(group);

interface Obj {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
}

/** A label selector as kubectl accepts it: `k=v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`. */
export function matches(selector: string, labels: Record<string, string> = {}): boolean {
  const terms = selector.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const t = raw.trim();
    let m = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(t);
    if (m) {
      const values = (m[3] ?? '').split(',').map((v) => v.trim());
      const has = m[1] !== undefined && m[1] in labels && values.includes(labels[m[1]] ?? '');
      return m[2] === 'in' ? has : !has;
    }
    m = /^([^!=\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(t);
    if (m) return m[2] === '!=' ? labels[m[1] ?? ''] !== m[3] : labels[m[1] ?? ''] === m[3];
    if (t.startsWith('!')) return !(t.slice(1) in labels);
    return t in labels;
  });
}

function applyObjects(s: FakeState, objects: Obj[], from: string): string[] {
  const errors: string[] = [];
  for (const o of objects) {
    const group = groupOf(o.apiVersion);
    const ns = CLUSTER_SCOPED.has(o.kind) ? '' : (o.metadata.namespace ?? 'default');
    if (!served(s, group, o.kind)) {
      errors.push(
        `error: resource mapping not found for name: "${o.metadata.name}" namespace: "${ns}" from "${from}": no matches for kind "${o.kind}" in version "${o.apiVersion}"\nensure CRDs are installed first`,
      );
      continue;
    }
    if (ns && !s.namespaces.includes(ns)) {
      errors.push(
        `Error from server (NotFound): error when creating "${from}": namespaces "${ns}" not found`,
      );
      continue;
    }
    if (o.kind === 'Namespace' && !s.namespaces.includes(o.metadata.name)) s.namespaces.push(o.metadata.name);
    add(s, `${group}/${o.kind}/${ns}/${o.metadata.name}`);
    if (o.kind === 'HelmChart') {
      const chart = CHARTS[String(o.spec?.chart)];
      if (!chart) throw new Refused(`fake: unknown chart ${String(o.spec?.chart)}`);
      s.helmCharts.push(String(o.spec?.chart));
      if (!s.namespaces.includes(chart.namespace)) s.namespaces.push(chart.namespace);
      for (const a of chart.apis) if (!s.apis.includes(a)) s.apis.push(a);
      for (const x of chart.objects) add(s, x);
    }
    // What a PostgreSQL Cluster needs before it can be Ready: the Secrets it names.
    if (o.kind === 'Cluster' && group === 'postgresql.cnpg.io') {
      s.secretRefs ??= {};
      s.secretRefs[`${group}/${o.kind}/${ns}/${o.metadata.name}`] = secretNames(o.spec);
    }
    // The Vault agent's init container: without its role or its secrets the pod never starts.
    const agent = vaultAgent(o);
    if (agent) {
      s.vaultAgents ??= {};
      s.vaultAgents[`${group}/${o.kind}/${ns}/${o.metadata.name}`] = agent;
    }
    // Rook binds a claim: the bucket's Secret (keys) and ConfigMap appear beside it.
    if (o.kind === 'ObjectBucketClaim') {
      add(s, `/Secret/${ns}/${o.metadata.name}`);
      add(s, `/ConfigMap/${ns}/${o.metadata.name}`);
    }
  }
  return errors;
}

/** The Vault agent a pod template asks the injector for: its role and the KV paths it renders. */
function vaultAgent(o: Obj): { role: string; paths: string[] } | undefined {
  const template = o.spec?.template as { metadata?: { annotations?: Record<string, string> } } | undefined;
  const a = template?.metadata?.annotations ?? {};
  if (a['vault.hashicorp.com/agent-inject'] !== 'true') return undefined;
  const paths = Object.entries(a)
    .filter(([k]) => k.startsWith('vault.hashicorp.com/agent-inject-secret-'))
    .map(([, v]) => v.replace(/^kv\/data\//, 'kv/'));
  return { role: a['vault.hashicorp.com/role'] ?? '', paths: [...new Set(paths)] };
}

/** Names of the Secrets a CloudNativePG Cluster spec refers to (role, bootstrap and S3 credential refs). */
function secretNames(spec: unknown): string[] {
  const names = new Set<string>();
  const walk = (x: unknown, key: string) => {
    if (Array.isArray(x)) for (const v of x) walk(v, key);
    else if (x && typeof x === 'object') {
      const o = x as Record<string, unknown>;
      if (
        ['secret', 'passwordSecret', 'superuserSecret', 'accessKeyId', 'secretAccessKey'].includes(key) &&
        typeof o.name === 'string'
      ) {
        names.add(o.name);
      }
      for (const [k, v] of Object.entries(o)) walk(v, k);
    }
  };
  walk(spec, '');
  return [...names].sort();
}

function add(s: FakeState, key: string) {
  if (!s.objects.includes(key)) s.objects.push(key);
}

function kubectl(args: string[], s: FakeState, stdin: () => string, ctx: CallContext): string {
  const ns = namespaceOf(args);
  const path = (p: string) => resolve(ctx.cwd, p);
  const positional = args.filter((a, i) => !a.startsWith('-') && !VALUE_FLAGS.has(args[i - 1] ?? ''));
  const [verb] = positional;
  const timedOut = () => {
    const fail = ctx.env.FAKE_FAIL;
    if (fail && new RegExp(fail).test(args.join(' '))) {
      throw new Refused(`error: timed out waiting for the condition on ${positional.slice(1).join(' ')}`);
    }
  };
  switch (verb) {
    case 'version':
      return 'Client Version: v1.33.0-fake\n';
    case 'kustomize': {
      // REAL_KUBECTL must be the real one (a fake calling itself would recurse for ever).
      if (ctx.env.FAKE_INSIDE) throw new Refused('fake: REAL_KUBECTL is the fake itself');
      const r = spawnSync(ctx.env.REAL_KUBECTL ?? 'kubectl', args, {
        encoding: 'utf8',
        cwd: ctx.cwd,
        env: { ...process.env, ...ctx.env, FAKE_INSIDE: '1' },
        maxBuffer: 64 << 20,
      });
      if (r.status !== 0) throw new Refused(r.stderr);
      return r.stdout;
    }
    case 'apply': {
      const file = flag(args, '-f');
      const dir = flag(args, '-k');
      const selector = flag(args, '-l') ?? flag(args, '--selector');
      if (file?.startsWith('https://')) {
        const release = RELEASES.find((r) =>
          typeof r.match === 'string' ? file.endsWith(r.match) : r.match.test(file),
        );
        if (!release) throw new Refused(`fake: unknown release ${file}`);
        if (release.serverSide && !args.includes('--server-side')) {
          throw new Refused(
            `The CustomResourceDefinition "clusters.postgresql.cnpg.io" is invalid: metadata.annotations: Too long: must have at most 262144 bytes`,
          );
        }
        for (const need of release.needs ?? []) {
          const [kind, name = ''] = need.split(':');
          if (kind === 'ns' && !s.namespaces.includes(name)) {
            throw new Refused(
              `Error from server (NotFound): error when creating "${file}": namespaces "${name}" not found`,
            );
          }
          if (kind === 'api' && !s.apis.includes(name)) {
            throw new Refused(
              `error: resource mapping not found in "${file}": no matches for group "${name}"`,
            );
          }
        }
        for (const n of release.namespaces ?? []) if (!s.namespaces.includes(n)) s.namespaces.push(n);
        for (const a of release.apis ?? []) if (!s.apis.includes(a)) s.apis.push(a);
        for (const o of release.objects ?? []) add(s, o);
        return `applied ${file}\n`;
      }
      let text: string;
      if (dir) text = kubectl(['kustomize', dir], s, stdin, ctx);
      else if (file === '-') text = stdin();
      else if (file) text = readFileSync(path(file), 'utf8');
      else throw new Refused('fake: apply needs -f or -k');
      // Loaded only here: most calls need no YAML, and each call is a new process.
      const { parseAllDocuments } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
      const objects = parseAllDocuments(text)
        .map((d) => d.toJSON() as Obj | null)
        .filter((o): o is Obj => !!o?.kind)
        .filter((o) => !selector || matches(selector, o.metadata.labels));
      if (file === '-' && !args.includes('--server-side') && objects.some((o) => o.kind === 'Secret'))
        throw new Refused(
          'fake: a generated Secret applied client-side: its values would be copied into the kubectl.kubernetes.io/last-applied-configuration annotation (use apply --server-side)',
        );
      const errors = applyObjects(s, objects, file ?? dir ?? '');
      if (errors.length) throw new Refused(errors.join('\n'));
      return objects.map((o) => `${o.kind.toLowerCase()}/${o.metadata.name} configured\n`).join('');
    }
    case 'wait':
    case 'rollout': {
      timedOut();
      const target = positional[verb === 'rollout' ? 2 : 1] ?? '';
      const forWhat = flag(args, '--for') ?? (verb === 'rollout' ? 'rollout' : '');
      const [resource = '', name] = target.split('/');
      if (resource === 'crd') {
        const group = (name ?? '').split('.').slice(1).join('.');
        const kinds = s.apis.some((a) => a === group || a.startsWith(`${group}/`));
        if (name && !kinds) throw new Refused(`error: timed out waiting for the condition on crd/${name}`);
        return '';
      }
      const gk = RESOURCES[resource];
      if (!gk) throw new Refused(`fake: cannot wait on ${target}`);
      if (!s.namespaces.includes(ns)) throw new Refused('error: no matching resources found');
      const present = s.objects.filter((o) => o.startsWith(`${gk}/${ns}/`));
      if (name) {
        if (!present.includes(`${gk}/${ns}/${name}`)) {
          if (forWhat === 'create')
            throw new Refused(`error: timed out waiting for the condition on ${target}`);
          throw new Refused(`Error from server (NotFound): ${resource} "${name}" not found`);
        }
      } else if (present.length === 0 && !['apps/Deployment'].includes(gk)) {
        throw new Refused('error: no matching resources found');
      }
      // A pod whose Secret is missing never starts (CreateContainerConfigError / volume not found).
      for (const secret of SECRETS_NEEDED[`${gk}/${ns}/${name}`] ?? []) {
        if (!s.objects.includes(`/Secret/${ns}/${secret}`))
          throw new Refused(
            `error: timed out waiting for the condition on ${target} (secret "${secret}" not found)`,
          );
      }
      if (gk === '/Pod' && name === 'vault-0' && forWhat === 'condition=Ready' && s.vault.sealed) {
        throw new Refused(
          'error: timed out waiting for the condition on pods/vault-0 (sealed: readiness probe fails)',
        );
      }
      // The operator cannot initdb nor archive without the Secrets the Cluster names.
      if (gk === 'postgresql.cnpg.io/Cluster' && name) {
        const missing = (s.secretRefs?.[`${gk}/${ns}/${name}`] ?? []).filter(
          (n) => !s.objects.includes(`/Secret/${ns}/${n}`),
        );
        if (missing.length) {
          throw new Refused(
            `error: timed out waiting for the condition on clusters/${name} (secrets not found: ${missing.join(', ')})`,
          );
        }
      }
      // The Vault agent (init container) logs in as its role and renders its secrets before the pod starts.
      const agent = s.vaultAgents?.[`${gk}/${ns}/${name}`];
      if (agent && s.helmCharts.includes('vault')) {
        const missing = [
          ...(s.vault.roles.includes(agent.role) ? [] : [`role ${agent.role}`]),
          ...agent.paths.filter((p) => !s.vault.kv[p]).map((p) => `secret ${p}`),
        ];
        if (s.vault.sealed || missing.length)
          throw new Refused(
            `error: timed out waiting for the condition on ${target} (vault agent: ${s.vault.sealed ? 'sealed' : missing.join(', ')})`,
          );
      }
      // Functions log in to Vault at start: with Vault installed they cannot be Ready until it is configured.
      if (gk === 'serving.knative.dev/Service' && s.helmCharts.includes('vault')) {
        if (s.vault.sealed || !s.vault.auths.includes('kubernetes/') || s.vault.roles.length === 0) {
          throw new Refused(
            'error: timed out waiting for the condition on services/… (Vault not configured)',
          );
        }
      }
      return '';
    }
    case 'patch': {
      // `kubectl -n NS patch KIND NAME --patch-file FILE`: the object must exist, the patch file too.
      const [resource = '', name = ''] = positional.slice(1);
      const gk = RESOURCES[resource];
      if (!gk || !s.objects.includes(`${gk}/${ns}/${name}`))
        throw new Refused(`Error from server (NotFound): ${resource} "${name}" not found`);
      const file = flag(args, '--patch-file');
      if (!file || !existsSync(path(file))) throw new Refused(`error: unable to read patch file ${file}`);
      return `${resource}/${name} patched\n`;
    }
    case 'exec': {
      // `exec <statefulset>-<ordinal> … -- sh /scripts/<file>`: the pod exists once its StatefulSet was
      // applied (and rolled out before: the script's caller waits for that); the script comes from a ConfigMap.
      const pod = positional[1] ?? '';
      const set = pod.replace(/-\d+$/, '');
      if (!s.objects.includes(`apps/StatefulSet/${ns}/${set}`)) {
        throw new Refused(`Error from server (NotFound): pods "${pod}" not found`);
      }
      const script = args.slice(args.indexOf('--') + 1).find((a) => a.startsWith('/scripts/'));
      if (script && !s.objects.includes(`/ConfigMap/${ns}/${set}-scripts`)) {
        throw new Refused(`sh: 0: cannot open ${script}: No such file`, 2);
      }
      return `${pod}: ran ${script ?? 'command'}\n`;
    }
    case 'port-forward':
      s.vault.reachable = true;
      return '';
    case 'get': {
      const [resource = '', name = ''] = positional.slice(1);
      const gk = RESOURCES[resource];
      if (!gk || !s.objects.includes(`${gk}/${ns}/${name}`)) {
        throw new Refused(`Error from server (NotFound): ${resource} "${name}" not found`);
      }
      const out = flag(args, '-o');
      const key = /\{\.data\.([A-Z_]+)\}/.exec(out ?? '')?.[1];
      return key ? Buffer.from(`fake-${name}-${key}`).toString('base64') : `${resource}/${name}\n`;
    }
    case 'delete': {
      const [resource = '', name = ''] = positional.slice(1);
      const gk = RESOURCES[resource];
      s.objects = s.objects.filter((o) => o !== `${gk}/${ns}/${name}`);
      return '';
    }
    default:
      throw new Refused(`fake kubectl: unsupported ${args.join(' ')}`);
  }
}

function vault(args: string[], s: FakeState, stdin: () => string, ctx: CallContext): string {
  const v = s.vault;
  if (!ctx.env.VAULT_ADDR || !v.reachable) {
    throw new Refused('Error checking seal status: dial tcp 127.0.0.1:18200: connect: connection refused', 1);
  }
  const words = args.filter((a) => !a.startsWith('-'));
  const status = () => ({ initialized: v.initialized, sealed: v.sealed, t: 3, n: 5, progress: v.progress });
  const [a = '', b = '', c = ''] = words;
  if (a === 'status') {
    if (v.sealed) throw new Refused('sealed', 2, JSON.stringify(status()));
    return JSON.stringify(status());
  }
  if (a === 'operator' && b === 'init') {
    if (v.initialized) throw new Refused('Error initializing: Vault is already initialized', 2);
    v.initialized = true;
    v.keys = [1, 2, 3, 4, 5].map((i) => `fake-unseal-key-${i}`);
    v.rootToken = 'hvs.fake-root-token';
    return JSON.stringify({ unseal_keys_b64: v.keys, unseal_threshold: 3, root_token: v.rootToken });
  }
  if (a === 'write' && b === 'sys/unseal') {
    if (c !== 'key=-') throw new Refused('fake vault: an unseal key on the command line', 1);
    if (!v.keys.includes(stdin().trim())) throw new Refused('Error unsealing: invalid key', 2);
    v.progress += 1;
    if (v.progress >= 3) {
      v.sealed = false;
      v.progress = 0;
    }
    return JSON.stringify(status());
  }
  if (v.sealed) throw new Refused('Error: Vault is sealed', 2);
  if (!v.rootToken || ctx.env.VAULT_TOKEN !== v.rootToken)
    throw new Refused('Code: 403. permission denied', 2);
  const json = (x: unknown) => JSON.stringify(x);
  const kvPath = (p: string) => {
    if (!v.mounts.includes('kv/') || !p.startsWith('kv/'))
      throw new Refused(`no secrets engine mounted at ${p}`, 2);
    return p;
  };
  if (a === 'secrets' && b === 'list') return json(Object.fromEntries(v.mounts.map((m) => [m, {}])));
  if (a === 'secrets' && b === 'enable') {
    v.mounts.push(`${flag(args, '-path') ?? c}/`);
    return '';
  }
  if (a === 'auth' && b === 'list') return json(Object.fromEntries(v.auths.map((m) => [m, {}])));
  if (a === 'auth' && b === 'enable') {
    v.auths.push(`${c}/`);
    return '';
  }
  if (a === 'policy' && b === 'write') {
    if (!existsSync(resolve(ctx.cwd, words[3] ?? '')))
      throw new Refused(`error opening policy file ${words[3]}`, 1);
    v.policies.push(c);
    return '';
  }
  if (a === 'write' && b.startsWith('auth/kubernetes/role/')) {
    v.roles.push(b.slice('auth/kubernetes/role/'.length));
    return '';
  }
  if (a === 'write' && b === 'auth/kubernetes/config') return '';
  if (a === 'kv' && b === 'put') {
    const path = kvPath(c);
    if (words[3] !== undefined) throw new Refused('fake vault: secret values on the command line', 1);
    if (!args.includes('-')) throw new Refused('fake vault: kv put without data', 1);
    v.kv[path] = JSON.parse(stdin()) as Record<string, string>;
    return '';
  }
  if (a === 'kv' && b === 'get') {
    const path = kvPath(c);
    const data = v.kv[path];
    if (!data) throw new Refused(`No value found at ${path.replace(/^kv\//, 'kv/data/')}`, 2);
    const field = flag(args, '-field');
    if (field) {
      if (!(field in data)) throw new Refused(`Field "${field}" not present in secret`, 1);
      return data[field] ?? '';
    }
    return json({ data: { data } });
  }
  throw new Refused(`fake vault: unsupported ${args.join(' ')}`);
}

/** What one call answered: its output, its exit status, and whether it lasts until killed (a port-forward). */
export interface CallResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exit: number;
  readonly holds: boolean;
}

/**
 * One call of the fake `tool` (kubectl or vault) with `args`, against the state in `ctx.env.FAKE_STATE`,
 * recorded in `ctx.env.FAKE_LOG`. `stdin` is read only by the calls that take input (`-f -`, `key=-`).
 * Throws only on a fault of the fake itself (a refusal is a result with a non-zero exit).
 */
export function fakeCall(tool: string, args: string[], ctx: CallContext, stdin: () => string): CallResult {
  const stateFile = ctx.env.FAKE_STATE ?? '';
  const s = load(stateFile);
  const before = JSON.stringify(s);
  let input: string | undefined;
  const once = () => {
    input ??= stdin();
    return input;
  };
  const record = (exit: number, error?: string) =>
    appendFileSync(
      ctx.env.FAKE_LOG ?? '/dev/null',
      `${JSON.stringify({ tool, args, exit, error } satisfies FakeCall)}\n`,
    );
  try {
    const out = tool === 'vault' ? vault(args, s, once, ctx) : kubectl(args, s, once, ctx);
    save(stateFile, s, before);
    record(0);
    // A port-forward lasts until it is killed, like the real one.
    const holds = tool === 'kubectl' && args.includes('port-forward');
    return { stdout: out, stderr: '', exit: 0, holds };
  } catch (e) {
    if (!(e instanceof Refused)) throw e;
    save(stateFile, s, before);
    record(e.exit, e.message);
    return e.stdout
      ? { stdout: e.stdout, stderr: '', exit: e.exit, holds: false }
      : { stdout: '', stderr: `${e.message}\n`, exit: e.exit, holds: false };
  }
}

function main() {
  const [tool = '', ...args] = process.argv.slice(2);
  const r = fakeCall(tool, args, { env: process.env, cwd: process.cwd() }, () => readFileSync(0, 'utf8'));
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  process.exitCode = r.exit;
  if (r.holds) {
    process.on('SIGTERM', () => process.exit(0));
    setInterval(() => {}, 60_000);
  }
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop() ?? '')) main();
