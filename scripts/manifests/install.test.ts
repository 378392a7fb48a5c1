/**
 * k3s/install-platform.sh run for real against a recording fake `kubectl` and `vault` (fake-cluster.ts),
 * put first on PATH. The fake refuses what a cluster would (an object before its namespace or CRD, a wait
 * on something never applied, Vault Ready while sealed, functions Ready before Vault is configured), so a
 * passing install is one whose order converges; FAKE_FAIL makes chosen waits time out to prove the script
 * stops there. The fakes are clients of one fake-cluster server per file (fake-cluster-server.ts): an install
 * makes ~200 calls, and a Node start for each was most of this file's time.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeCall, type FakeState, matches } from './fake-cluster.ts';
import { startFakeClusterServer, writeClients } from './fake-cluster-server.ts';
import { loadFunctionSettings } from './function-env.ts';
import { FUNCTIONS, JOBS } from './function-specs.ts';
import { REPO_ROOT } from './load.ts';

const SCRIPT = join(REPO_ROOT, 'k3s', 'install-platform.sh');
const realKubectl = spawnSync('sh', ['-c', 'command -v kubectl'], { encoding: 'utf8' }).stdout.trim();
const dirs: string[] = [];
let server: Awaited<ReturnType<typeof startFakeClusterServer>>;
beforeAll(async () => {
  server = await startFakeClusterServer();
});
afterAll(() => {
  server?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Run {
  dir: string;
  status: number | null;
  stdout: string;
  stderr: string;
  calls: FakeCall[];
  state: () => FakeState;
}

/** A fresh fake cluster (or a copy of `from`'s), with the fakes first on PATH. */
function cluster(from?: Run): string {
  const dir = mkdtempSync(join(tmpdir(), 'isekai-install-'));
  dirs.push(dir);
  if (from) {
    cpSync(join(from.dir, 'state.json'), join(dir, 'state.json'));
    cpSync(join(from.dir, 'home'), join(dir, 'home'), { recursive: true });
  }
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeClients(bin, server.port);
  return dir;
}

function install(dir: string, args: string[], env: Record<string, string> = {}): Run {
  const log = join(dir, 'log.jsonl');
  writeFileSync(log, '');
  const r = spawnSync('bash', [SCRIPT, ...args], {
    encoding: 'utf8',
    timeout: 240_000,
    env: {
      PATH: `${join(dir, 'bin')}:${process.env.PATH}`,
      HOME: join(dir, 'home'),
      REAL_KUBECTL: realKubectl,
      FAKE_STATE: join(dir, 'state.json'),
      FAKE_LOG: log,
      VAULT_INIT_FILE: join(dir, 'home', 'vault-init.json'),
      POLL_SECONDS: '0',
      ALERT_WEBHOOK_URL: 'https://alerts.example.test/hook',
      ...env,
    },
  });
  const calls = readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FakeCall);
  return {
    dir,
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    calls,
    state: () => JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as FakeState,
  };
}

/** A copy of `from`'s cluster whose Vault is sealed again (as after a restart). */
function sealedCluster(from: Run): string {
  const dir = cluster(from);
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as FakeState;
  writeFileSync(
    join(dir, 'state.json'),
    JSON.stringify({ ...state, vault: { ...state.vault, sealed: true } }),
  );
  return dir;
}

const line = (c: FakeCall) => `${c.tool} ${c.args.join(' ')}`;
/** Index of the first call matching `re` (fails the test when there is none). */
function at(run: Run, re: RegExp): number {
  const i = run.calls.findIndex((c) => re.test(line(c)));
  expect(i, `no call matching ${re}`).toBeGreaterThanOrEqual(0);
  return i;
}
const waits = (run: Run) =>
  run.calls.filter((c) => c.tool === 'kubectl' && (c.args.includes('wait') || c.args.includes('rollout')));

/** The Secrets applied from stdin in the observability step (between its namespace and its stack). */
function monitoringSecretsApplied(run: Run): FakeCall[] {
  const from = at(run, /apply -f \S+k3s\/observability\/k8s\/namespace\.yaml/);
  const to = at(run, /apply -k \S+\/k3s\/observability$/);
  return run.calls.slice(from, to).filter((c) => line(c) === 'kubectl apply --server-side -f -');
}

const SLOW = 240_000;
let fresh: Run;

describe('install-platform.sh production, on a fresh cluster', () => {
  it(
    'converges: exit 0, every call accepted',
    () => {
      fresh = install(cluster(), ['production']);
      expect(fresh.stderr).toContain('done:');
      expect(fresh.status).toBe(0);
      // Refusals expected on the way: `vault status` of a sealed Vault (exit 2), seed-secrets.sh asking
      // for secrets that do not exist yet (exit 2, "No value found"), and the install looking for the
      // monitoring Secrets before creating them.
      const expected = (c: FakeCall) =>
        /^vault status/.test(line(c)) ||
        /^kubectl -n monitoring get secret (alertmanager-receiver|grafana-admin)$/.test(line(c)) ||
        (/^vault kv get -format=json/.test(line(c)) && /No value found/.test(c.error ?? ''));
      expect(fresh.calls.filter((c) => c.exit !== 0 && !expected(c)).map(line)).toEqual([]);
    },
    SLOW,
  );

  it('installs in dependency order', () => {
    const order = [
      /apply -f \S+knative\/base\/100-namespace\.yaml/,
      /apply -f \S+cert-manager\.yaml/,
      /apply -f \S+serving-crds\.yaml/,
      /apply -f \S+kourier\.yaml/,
      /apply -f platform\/kourier-network-policy\.yaml/,
      /patch deployment 3scale-kourier-gateway --patch-file platform\/kourier-gateway-edge\.patch\.yaml/,
      /rollout status deployment\/3scale-kourier-gateway/,
      /apply -f \S+eventing-core\.yaml/,
      /apply -f \S+cluster-operator\.yml/,
      /apply -f \S+rabbitmq-broker\.yaml/,
      /apply --server-side --force-conflicts -f \S+\/cnpg-\d+\.\d+\.\d+\.yaml/,
      /wait --for=condition=Established crd\/clusters\.postgresql\.cnpg\.io/,
      /wait -n cnpg-system deployment --all --for=condition=Available/,
      /apply -f \S+rook\/100-operator\.yaml/,
      /apply -k \S+\/rook$/,
      /wait -n isekai objectbucketclaim --all --for=jsonpath=\{\.status\.phase\}=Bound/,
      /apply -f platform\/vault\.yaml/,
      /^vault operator init/,
      /^vault write -format=json sys\/unseal key=-/,
      /wait -n vault pod\/vault-0 --for=condition=Ready/,
      /-n vault rollout status deployment\/vault-agent-injector/,
      /^vault auth enable kubernetes/,
      /^vault write auth\/kubernetes\/role\/catalog/,
      /^vault kv put kv\/isekai\/shared\/backup-store -/,
      /^vault kv put kv\/isekai-data\/postgres\/config -/,
      /^kubectl apply --server-side -f -$/,
      /apply -f \S+k3s\/observability\/k8s\/namespace\.yaml/,
      /-n monitoring get secret alertmanager-receiver/,
      /-n monitoring get secret grafana-admin/,
      /apply -k \S+\/k3s\/observability$/,
      /rollout status statefulset\/prometheus/,
      /rollout status deployment\/grafana/,
      /apply -f \S+isekai\.yaml -l !app\.kubernetes\.io\/name$/,
      /apply -f \S+isekai\.yaml -l app\.kubernetes\.io\/name in \(postgres/,
      /wait -n isekai-data clusters\.postgresql\.cnpg\.io\/postgres --for=condition=Ready/,
      /rollout status statefulset\/mongodb/,
      /exec mongodb-0 -c mongodb -- sh \/scripts\/replica-set\.sh/,
      /rollout status statefulset\/redis-sessions/,
      /delete job schema-migrate/,
      /apply -f \S+isekai\.yaml -l app\.kubernetes\.io\/name=schema-migrate/,
      /wait -n isekai job\/schema-migrate --for=condition=complete/,
      /apply -f \S+isekai\.yaml$/,
      /wait -n isekai ksvc --all --for=condition=Ready/,
      /wait -n isekai broker\/default --for=condition=Ready/,
      /wait -n isekai trigger --all --for=condition=Ready/,
    ];
    const indexes = order.map((re) => at(fresh, re));
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b));
  });

  it('creates every namespace before anything is placed in it (the fake refuses otherwise)', () => {
    expect(fresh.state().namespaces).toEqual(
      expect.arrayContaining([
        'isekai',
        'isekai-data',
        'rook-ceph',
        'vault',
        'knative-serving',
        'knative-eventing',
        'kourier-system',
        'monitoring',
      ]),
    );
    // The original fault: Rook's bucket claims applied into `isekai` before it exists.
    const bare = cluster();
    writeFileSync(
      join(bare, 'state.json'),
      JSON.stringify({ ...fresh.state(), namespaces: ['default', 'kube-system'], objects: [] }),
    );
    const r = spawnSync(join(bare, 'bin', 'kubectl'), ['apply', '-k', join(REPO_ROOT, 'rook')], {
      encoding: 'utf8',
      env: { ...process.env, FAKE_STATE: join(bare, 'state.json'), REAL_KUBECTL: realKubectl },
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('namespaces "isekai" not found');
  });

  it('bounds every wait with a timeout', () => {
    const all = waits(fresh);
    expect(all.length).toBeGreaterThanOrEqual(30);
    expect(all.filter((c) => !c.args.some((a) => /^--timeout=\d+s$/.test(a))).map(line)).toEqual([]);
  });

  it('leaves Vault holding every setting each function and Job reads, none of them a dev default', async () => {
    const declared = await loadFunctionSettings();
    const kv = fresh.state().vault.kv;
    const missing: string[] = [];
    for (const { name } of [...FUNCTIONS, ...JOBS]) {
      const settings = declared.get(name) ?? JOBS.find((j) => j.name === name);
      if (!settings) throw new Error(`no settings for ${name}`);
      const held = new Set(
        [`kv/isekai/${name}/config`, ...settings.sharedSecrets.map((s) => `kv/isekai/shared/${s}`)].flatMap(
          (p) => Object.keys(kv[p] ?? {}),
        ),
      );
      for (const s of settings.vaultSettings) if (!held.has(s)) missing.push(`${name}: ${s}`);
    }
    expect(missing).toEqual([]);
    for (const path of [
      'postgres/config',
      'mongodb/config',
      'redis/config',
      'redis-sessions/config',
      'keycloak/config',
      'keycloak/clients',
    ]) {
      expect(Object.keys(kv[`kv/isekai-data/${path}`] ?? {}).length, path).toBeGreaterThan(0);
    }
    expect(JSON.stringify(kv)).not.toMatch(/dev-only|placeholder/);
    expect(kv['kv/isekai-data/keycloak/clients']?.KC_ISEKAI_SITE_SECRET).toMatch(/^[0-9a-f]{48}$/);
  });

  it('gives the site its own sessions Redis: SESSION_REDIS_URL names redis-sessions with that server’s password, rolled out before the functions', () => {
    const kv = fresh.state().vault.kv;
    const password = kv['kv/isekai-data/redis-sessions/config']?.REDIS_PASSWORD ?? '';
    expect(password).toMatch(/^[0-9a-f]{48}$/);
    expect(password).not.toBe(kv['kv/isekai-data/redis/config']?.REDIS_PASSWORD);
    expect(kv['kv/isekai/shared/redis-sessions']).toEqual({
      SESSION_REDIS_URL: `redis://:${password}@redis-sessions.isekai-data.svc.cluster.local:6379`,
    });
    // The cache Redis' URL is no longer the site's to read.
    expect(fresh.state().vault.policies).toEqual(expect.arrayContaining(['site', 'data-redis-sessions']));
    expect(fresh.state().vault.roles).toContain('redis-sessions');
    expect(fresh.state().vaultAgents?.['apps/StatefulSet/isekai-data/redis-sessions']).toEqual({
      role: 'redis-sessions',
      paths: ['kv/isekai-data/redis-sessions/config'],
    });
    expect(at(fresh, /rollout status statefulset\/redis-sessions/)).toBeLessThan(
      at(fresh, /wait -n isekai ksvc --all/),
    );
  });

  it('the fake refuses a rollout whose Vault agent has no secret to render (as the injector’s init container would hang)', () => {
    const dir = cluster(fresh);
    const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as FakeState;
    delete state.vault.kv['kv/isekai-data/redis-sessions/config'];
    writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
    const r = spawnSync(
      join(dir, 'bin', 'kubectl'),
      ['-n', 'isekai-data', 'rollout', 'status', 'statefulset/redis-sessions', '--timeout=1s'],
      {
        encoding: 'utf8',
        env: { ...process.env, FAKE_STATE: join(dir, 'state.json'), REAL_KUBECTL: realKubectl },
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('vault agent: secret kv/isekai-data/redis-sessions/config');
  });

  it('creates the observability Secrets before the pods that read them (the fake refuses a rollout without them), and the stack', () => {
    const objects = fresh.state().objects;
    for (const o of [
      '/Secret/monitoring/alertmanager-receiver',
      '/Secret/monitoring/grafana-admin',
      'apps/StatefulSet/monitoring/prometheus',
      'rbac.authorization.k8s.io/ClusterRoleBinding//isekai-prometheus',
      'networking.k8s.io/NetworkPolicy/monitoring/default-deny',
      'networking.k8s.io/NetworkPolicy/kourier-system/default-deny',
    ])
      expect(objects).toContain(o);
    // Both Secrets went through stdin: no secret value on a command line.
    expect(monitoringSecretsApplied(fresh)).toHaveLength(2);
    expect(fresh.calls.some((c) => /alerts\.example\.test/.test(line(c)))).toBe(false);
  });

  it(
    'without ALERT_WEBHOOK_URL (and no receiver Secret yet): stops naming it, before the stack and the overlay',
    () => {
      const r = install(cluster(), ['production'], { ALERT_WEBHOOK_URL: '' });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/ALERT_WEBHOOK_URL is not set/);
      expect(r.calls.some((c) => /k3s\/observability$/.test(line(c)))).toBe(false);
      expect(r.calls.some((c) => /isekai\.yaml/.test(line(c)) && c.args.includes('apply'))).toBe(false);
    },
    SLOW,
  );

  it('writes the unseal keys to a file only its owner can read', () => {
    const file = join(fresh.dir, 'home', 'vault-init.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8')).unseal_keys_b64).toHaveLength(5);
  });
});

describe('install-platform.sh is idempotent', () => {
  it(
    're-run on the installed cluster: converges again, never re-initialises Vault nor replaces a secret',
    () => {
      const before = fresh.state().vault.kv;
      const again = install(cluster(fresh), ['production'], { ALERT_WEBHOOK_URL: '' });
      expect(again.status).toBe(0);
      expect(again.calls.filter((c) => /^vault operator init/.test(line(c)))).toEqual([]);
      expect(again.calls.filter((c) => /^vault write .*sys\/unseal/.test(line(c)))).toEqual([]);
      const puts = again.calls.filter((c) => /^vault kv put/.test(line(c))).map((c) => c.args[2]);
      // Only the bucket keys are copied again from Rook's Secrets (the source of truth for them).
      expect(puts.sort()).toEqual(['kv/isekai/shared/backup-store', 'kv/isekai/shared/object-store']);
      // The observability Secrets exist: kept, not replaced (no new Secret applied), even without the URL.
      expect(monitoringSecretsApplied(again)).toEqual([]);
      expect(again.state().vault.kv).toEqual(before);
    },
    SLOW,
  );

  it(
    'after a Vault restart (sealed again) it unseals with the saved keys',
    () => {
      const dir = sealedCluster(fresh);
      const r = install(dir, ['production'], { FAKE_FAIL: 'ksvc' });
      expect(r.calls.filter((c) => /sys\/unseal/.test(line(c)))).toHaveLength(3);
      expect(r.state().vault.sealed).toBe(false);
    },
    SLOW,
  );
});

describe('install-platform.sh stops loudly at the first wait that fails', () => {
  it.each([
    ['the Ceph cluster never Ready', 'cephcluster', /apply -f platform\/vault\.yaml/],
    ['the migration Job never completes', 'job/schema-migrate', /apply -f \S+isekai\.yaml$/],
    [
      'the PostgreSQL Cluster never Ready',
      'clusters.postgresql.cnpg.io/postgres',
      /app\.kubernetes\.io\/name=schema-migrate/,
    ],
  ])(
    '%s: non-zero exit, kubectl’s message, nothing after it',
    (_name, fail, never) => {
      const r = install(cluster(), ['production'], { FAKE_FAIL: fail });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain('timed out waiting for the condition');
      const last = r.calls.at(-1);
      expect(last && line(last)).toMatch(new RegExp(fail));
      expect(r.calls.some((c) => never.test(line(c)))).toBe(false);
    },
    SLOW,
  );

  it(
    'a sealed Vault without its keys file: stops before the overlay, naming the file',
    () => {
      const dir = sealedCluster(fresh);
      rmSync(join(dir, 'home', 'vault-init.json'));
      const r = install(dir, ['production']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/Vault is sealed and \S+vault-init\.json is not readable/);
      expect(r.calls.some((c) => /isekai\.yaml/.test(line(c)) && c.args.includes('apply'))).toBe(false);
    },
    SLOW,
  );
});

describe('PostgreSQL (CloudNativePG) in the install', () => {
  it('generates the Secrets the Cluster names from Vault, none from the repository', () => {
    const objects = fresh.state().objects;
    for (const name of [
      'postgres-role-isekai',
      'postgres-role-isekai-app',
      'postgres-role-keycloak',
      'backup-store',
    ])
      expect(objects).toContain(`/Secret/isekai-data/${name}`);
    expect(fresh.state().secretRefs?.['postgresql.cnpg.io/Cluster/isekai-data/postgres']).toEqual([
      'backup-store',
      'postgres-role-isekai',
      'postgres-role-isekai-app',
      'postgres-role-keycloak',
    ]);
    // Values on pipes only: no kubectl or jq call carries a password.
    const kv = fresh.state().vault.kv['kv/isekai-data/postgres/config'] ?? {};
    const secrets = Object.values(kv);
    expect(secrets.length).toBeGreaterThan(0);
    expect(fresh.calls.filter((c) => secrets.some((v) => line(c).includes(v))).map(line)).toEqual([]);
  });

  it('applies every generated Secret server-side (no values in last-applied-configuration), the fake refusing client-side', () => {
    const stdinApplies = fresh.calls.filter(
      (c) =>
        c.tool === 'kubectl' && c.args.includes('apply') && c.args.includes('-f') && c.args.includes('-'),
    );
    // 4 PostgreSQL Secrets from Vault + 2 observability Secrets.
    expect(stdinApplies).toHaveLength(6);
    for (const c of stdinApplies) expect(c.args, line(c)).toContain('--server-side');
    const dir = cluster(fresh);
    const secret =
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n  namespace: isekai-data\nstringData:\n  k: v\n';
    const apply = (args: string[]) =>
      spawnSync(join(dir, 'bin', 'kubectl'), ['apply', ...args, '-f', '-'], {
        encoding: 'utf8',
        input: secret,
        env: { ...process.env, FAKE_STATE: join(dir, 'state.json'), REAL_KUBECTL: realKubectl },
      });
    const client = apply([]);
    expect(client.status).not.toBe(0);
    expect(client.stderr).toContain('last-applied-configuration');
    expect(apply(['--server-side']).status).toBe(0);
  });

  it('the fake refuses what the cluster would: client-side CRDs too large, a Cluster without its Secrets', () => {
    const dir = cluster(fresh);
    const run = (args: string[]) =>
      spawnSync(join(dir, 'bin', 'kubectl'), args, {
        encoding: 'utf8',
        env: { ...process.env, FAKE_STATE: join(dir, 'state.json'), REAL_KUBECTL: realKubectl },
      });
    const url = 'https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.26.1/cnpg-1.26.1.yaml';
    expect(run(['apply', '-f', url]).stderr).toMatch(/Too long: must have at most 262144 bytes/);
    expect(run(['apply', '--server-side', '-f', url]).status).toBe(0);
    expect(run(['-n', 'isekai-data', 'delete', 'secret', 'postgres-role-isekai-app']).status).toBe(0);
    const wait = run([
      'wait',
      '-n',
      'isekai-data',
      'clusters.postgresql.cnpg.io/postgres',
      '--for=condition=Ready',
      '--timeout=1s',
    ]);
    expect(wait.status).toBe(1);
    expect(wait.stderr).toContain('secrets not found: postgres-role-isekai-app');
  });
});

describe('install-platform.sh --dry-run', () => {
  it(
    'prints the plan and the manifests, and changes nothing',
    () => {
      const r = install(cluster(), ['--dry-run', 'production']);
      expect(r.status).toBe(0);
      expect(r.calls.map((c) => c.args[0])).toEqual(r.calls.map(() => 'kustomize'));
      expect(existsSync(join(r.dir, 'home', 'vault-init.json'))).toBe(false);
      const steps = [...r.stdout.matchAll(/^## step \d+: (.*)$/gm)].map((m) => m[1]);
      expect(steps[0]).toMatch(/^namespaces isekai and isekai-data/);
      expect(steps).toHaveLength(17);
      expect(steps).toContain(
        'observability: Prometheus v2.53.4, Alertmanager v0.28.1, Grafana 11.6.1, blackbox exporter v0.25.0 (namespace monitoring)',
      );
      for (const text of [
        'kubectl apply -f https://github.com/cert-manager/cert-manager/releases/download/v1.17.2/cert-manager.yaml',
        'kubectl wait -n rook-ceph cephcluster/rook-ceph --for=jsonpath={.status.phase}=Ready --timeout=1800s',
        'kind: ObjectBucketClaim',
        "kubectl apply -f <rendered overlay> -l 'app.kubernetes.io/name=schema-migrate'",
        'kubectl apply --server-side --force-conflicts -f https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v1.26.1/cnpg-1.26.1.yaml',
        'kubectl wait -n isekai-data clusters.postgresql.cnpg.io/postgres --for=condition=Ready --timeout=1200s',
        'kubectl -n isekai-data exec mongodb-0 -c mongodb -- sh /scripts/replica-set.sh',
        './vault-unseal.sh',
        'kubectl apply -k k3s/observability',
        'name: prometheus-config-',
        'kubectl -n kourier-system patch deployment 3scale-kourier-gateway --patch-file platform/kourier-gateway-edge.patch.yaml',
        'kubectl -n monitoring get secret grafana-admin, else: kubectl apply --server-side -f - <Secret monitoring/grafana-admin, key admin-password from random_hex>',
        'seed-secrets.sh',
        '# dry run: nothing was applied',
      ]) {
        expect(r.stdout).toContain(text);
      }
      // Every wait the real run makes is in the plan, with its timeout.
      const planned = r.stdout.split('\n').filter((l) => /^kubectl (wait|-n \S+ rollout)/.test(l));
      expect(planned.length).toBe(waits(fresh).length);
      expect(planned.filter((l) => !/--timeout=\d+s/.test(l))).toEqual([]);
    },
    SLOW,
  );
});

describe('install-platform.sh local', () => {
  it(
    'installs without Rook and Vault: no bucket claim, no Vault call',
    () => {
      const r = install(cluster(), ['local']);
      expect(r.status).toBe(0);
      expect(r.calls.filter((c) => c.tool === 'vault')).toEqual([]);
      expect(r.calls.some((c) => /rook/.test(line(c)))).toBe(false);
      expect(r.state().objects).toContain('/Secret/isekai/isekai-local-secrets');
      // The same stack, on local-path storage, with a receiver that goes nowhere unless ALERT_WEBHOOK_URL is set.
      expect(r.calls.some((c) => /apply -k \S+\/k3s\/monitoring-local$/.test(line(c)))).toBe(true);
    },
    SLOW,
  );
});

describe('the fake’s label selectors match kubectl’s', () => {
  it.each([
    ['!app.kubernetes.io/name', {}, true],
    ['!app.kubernetes.io/name', { 'app.kubernetes.io/name': 'x' }, false],
    ['app.kubernetes.io/name in (postgres,redis)', { 'app.kubernetes.io/name': 'redis' }, true],
    ['app.kubernetes.io/name in (postgres,redis)', { 'app.kubernetes.io/name': 'catalog' }, false],
    ['app.kubernetes.io/name=schema-migrate', { 'app.kubernetes.io/name': 'schema-migrate' }, true],
    ['a=b,c', { a: 'b' }, false],
  ])('%s on %j → %s', (selector, labels, expected) => expect(matches(selector, labels)).toBe(expected));
});
