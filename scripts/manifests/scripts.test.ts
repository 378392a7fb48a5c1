import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKustomize } from './kustomize.ts';
import { loadManifests, REPO_ROOT } from './load.ts';

const SCRIPTS = [
  ...readdirSync(join(REPO_ROOT, 'k3s'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => `k3s/${f}`),
  'vault-policies/setup.sh',
  'vault-policies/seed-secrets.sh',
];
const hasShellcheck = spawnSync('shellcheck', ['--version']).status === 0;
const versions = Object.fromEntries(
  readFileSync(join(REPO_ROOT, 'k3s', 'versions.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => l.split('=') as [string, string]),
);
const chartVersion = (file: string) =>
  (parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as { spec: { version: string } }).spec.version;

describe('install scripts (not runnable here: no cluster)', () => {
  it('finds the scripts', () => expect(SCRIPTS.length).toBeGreaterThanOrEqual(5));

  expect(SCRIPTS, 'install scripts').toHaveLength(8);
  it.each(SCRIPTS)('%s parses with bash -n', (file) => {
    expect(() => execFileSync('bash', ['-n', join(REPO_ROOT, file)])).not.toThrow();
  });

  // scripts/install-deps.sh installs shellcheck; a machine without it fails here rather than skipping.
  it('has shellcheck to check them', () => expect(hasShellcheck, 'run scripts/install-deps.sh').toBe(true));

  it.each(SCRIPTS)('%s is shellcheck-clean', (file) => {
    const r = spawnSync('shellcheck', ['-x', file], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
  });
});

describe('install-server.sh and install-agent.sh --dry-run', () => {
  const dry = (script: string, args: string[], env: Record<string, string> = {}) =>
    spawnSync('bash', [join(REPO_ROOT, 'k3s', script), '--dry-run', ...args], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, ...env },
    });

  it('server: prints the k3s configuration (etcd with scheduled snapshots, edge label, taint) and changes nothing', () => {
    const r = dry('install-server.sh', ['cloud.isekai.dev']);
    expect(r.status).toBe(0);
    for (const line of [
      'cluster-init: true',
      'etcd-snapshot-schedule-cron: "0 */6 * * *"',
      'node-role.isekai.dev/edge=true',
      'CriticalAddonsOnly=true:NoExecute',
      '# would run: curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=v',
    ])
      expect(r.stdout).toContain(line);
  });

  it('server: uploads each datastore snapshot to S3 when ETCD_S3_* are set, the secret key not printed', () => {
    const s3 = {
      ETCD_S3_ENDPOINT: 's3.offsite.example',
      ETCD_S3_BUCKET: 'isekai-etcd',
      ETCD_S3_ACCESS_KEY: 'AKIAEXAMPLE',
      ETCD_S3_SECRET_KEY: 'very-secret-key',
    };
    const r = dry('install-server.sh', ['cloud.isekai.dev'], s3);
    expect(r.status).toBe(0);
    for (const line of [
      'etcd-s3: true',
      'etcd-s3-endpoint: "s3.offsite.example"',
      'etcd-s3-bucket: "isekai-etcd"',
      'etcd-s3-folder: "k3s-etcd"',
      'etcd-s3-secret-key: "<hidden>"',
    ])
      expect(r.stdout).toContain(line);
    expect(r.stdout).not.toContain('very-secret-key');
    expect(dry('install-server.sh', ['cloud.isekai.dev']).stdout).not.toContain('etcd-s3:');
    const partial = dry('install-server.sh', ['cloud.isekai.dev'], { ETCD_S3_BUCKET: 'isekai-etcd' });
    expect(partial.status).toBe(1);
    expect(partial.stderr).toContain('ETCD_S3_ENDPOINT is required');
  });

  it('agent: storage nodes are labelled and tainted for Ceph; the token is not printed', () => {
    const r = dry('install-agent.sh', ['storage'], {
      K3S_URL: 'https://cloud:6443',
      K3S_TOKEN: 'secret-token',
    });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('node-role.isekai.dev/storage=true:NoSchedule');
    expect(r.stdout).toContain('# would run: modprobe rbd');
    expect(r.stdout).not.toContain('secret-token');
  });

  it('Kourier is reachable only from the edge node: every node binds NodePorts to loopback, and Kourier is the only NodePort', () => {
    const nodes = [
      dry('install-server.sh', ['cloud.isekai.dev']),
      ...['storage', 'worker'].map((role) =>
        dry('install-agent.sh', [role], { K3S_URL: 'https://cloud:6443', K3S_TOKEN: 't' }),
      ),
    ];
    for (const r of nodes) {
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(/kube-proxy-arg:\n\s+- nodeport-addresses=127\.0\.0\.1\/32\n/);
    }
    const nodePorts = [
      ...renderKustomize(join(REPO_ROOT, 'knative/overlays/production')),
      ...loadManifests(join(REPO_ROOT, 'k3s/platform')),
    ]
      .filter(
        (m) =>
          m.object.kind === 'Service' && (m.object as { spec?: { type?: string } }).spec?.type === 'NodePort',
      )
      .map((m) => `${m.object.metadata.namespace}/${m.object.metadata.name}`);
    expect(nodePorts).toEqual(['kourier-system/kourier']);
  });
});

describe('install scripts never mask a failed wait', () => {
  const k3s = readdirSync(join(REPO_ROOT, 'k3s')).filter((f) => f.endsWith('.sh'));
  it.each(k3s)(
    '%s: waits go through kwait/krollout (which demand a timeout) and nothing follows them with ||',
    (file) => {
      const text = readFileSync(join(REPO_ROOT, 'k3s', file), 'utf8');
      const lines = text.split('\n').filter((l) => !l.trim().startsWith('#'));
      if (file !== 'lib.sh') {
        expect(lines.filter((l) => /kubectl .*\b(wait|rollout status)\b/.test(l))).toEqual([]);
      }
      // `wait … || log …` was how a Vault that never became Ready slipped through.
      expect(
        lines.filter((l) =>
          /\b(kwait|krollout|wait_rollouts|wait_crd|rollout status|kubectl wait)\b.*\|\|/.test(l),
        ),
      ).toEqual([]);
    },
  );
});

describe('k3s/versions.env pins every component', () => {
  it.each([
    'K3S_VERSION',
    'CERT_MANAGER_VERSION',
    'KNATIVE_SERVING_VERSION',
    'KNATIVE_NET_KOURIER_VERSION',
    'KNATIVE_EVENTING_VERSION',
    'EVENTING_RABBITMQ_VERSION',
    'RABBITMQ_CLUSTER_OPERATOR_VERSION',
    'RABBITMQ_TOPOLOGY_OPERATOR_VERSION',
    'ROOK_VERSION',
    'VAULT_CHART_VERSION',
    'CNPG_VERSION',
    'PROMETHEUS_VERSION',
    'ALERTMANAGER_VERSION',
    'GRAFANA_VERSION',
    'BLACKBOX_EXPORTER_VERSION',
  ])('%s is an exact version', (key) => expect(versions[key]).toMatch(/^v?\d+\.\d+\.\d+(\+k3s\d+)?$/));

  it('keeps Knative Serving, Kourier, Eventing and eventing-rabbitmq in lockstep', () => {
    const minor = (v: string | undefined) => v?.split('.').slice(0, 2).join('.');
    const knative = [
      'KNATIVE_SERVING_VERSION',
      'KNATIVE_NET_KOURIER_VERSION',
      'KNATIVE_EVENTING_VERSION',
      'EVENTING_RABBITMQ_VERSION',
    ];
    expect(new Set(knative.map((k) => minor(versions[k]))).size).toBe(1);
  });

  it('matches the chart versions written in the HelmChart manifests', () => {
    expect(chartVersion('rook/100-operator.yaml')).toBe(versions.ROOK_VERSION);
    expect(chartVersion('k3s/platform/vault.yaml')).toBe(versions.VAULT_CHART_VERSION);
  });
});

/** The shell scripts the base ships in ConfigMaps (`<ConfigMap>/<key>.sh`), run inside the data pods. */
const CONFIGMAP_SCRIPTS = loadManifests(join(REPO_ROOT, 'knative/base')).flatMap((m) =>
  m.object.kind === 'ConfigMap'
    ? Object.entries((m.object as { data?: Record<string, string> }).data ?? {})
        .filter(([key]) => key.endsWith('.sh'))
        .map(([key, text]) => [`${m.object.metadata.name}/${key}`, text] as const)
    : [],
);

describe('scripts shipped in ConfigMaps', () => {
  expect(CONFIGMAP_SCRIPTS.map(([name]) => name).sort(), 'ConfigMap scripts').toEqual([
    'backup-scripts/mongodb.sh',
    'backup-scripts/postgres.sh',
    'mongodb-scripts/replica-set.sh',
  ]);

  it.each(CONFIGMAP_SCRIPTS)('%s parses with sh -n and is shellcheck-clean', (_name, text) => {
    expect(spawnSync('sh', ['-n'], { input: text, encoding: 'utf8' }).status).toBe(0);
    const r = spawnSync('shellcheck', ['-s', 'sh', '-'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
  });
});

describe('replica-set.sh (mongodb-scripts) against a recording mongosh', () => {
  // The Vault agent's file holds the root password; a process's argv (/proc/<pid>/cmdline) is readable by
  // every process on the node, its environment by the same user: the password must be in neither.
  const PASSWORD = 'root-password-sentinel-5f3a9c';
  const script = CONFIGMAP_SCRIPTS.find(([name]) => name === 'mongodb-scripts/replica-set.sh')?.[1] ?? '';

  /**
   * Runs the script with the Vault mount at a scratch folder, `getent` resolving mongodb-0…2 and `mongosh`
   * a stand-in that records its argv and environment and runs the `--eval` code against a stub shell API
   * (an uninitiated set; `auth` and `initiate` recorded).
   */
  function run(): { status: number | null; stderr: string; record: Record<string, unknown> } {
    const dir = mkdtempSync(join(tmpdir(), 'replica-set-'));
    try {
      const bin = join(dir, 'bin');
      const vault = join(dir, 'vault');
      mkdirSync(bin);
      mkdirSync(vault);
      writeFileSync(join(vault, 'root-password'), `${PASSWORD}\n`);
      writeFileSync(
        join(bin, 'getent'),
        '#!/bin/sh\ncase "$2" in mongodb-[012].*) echo "10.0.0.1 $2";; *) exit 2;; esac\n',
      );
      const record = join(dir, 'record.json');
      writeFileSync(
        join(bin, 'mongosh'),
        `#!${process.execPath}
const fs = require('node:fs');
const vm = require('node:vm');
const args = process.argv.slice(2);
const out = { argv: args, env: process.env, auth: [], initiated: null, printed: [] };
const admin = { auth: (user, pwd) => { out.auth.push([user, pwd]); return { ok: 1 }; } };
const db = { getSiblingDB: () => admin, hello: () => ({ primary: 'mongodb-0:27017' }) };
const rs = {
  status: () => { const e = new Error('no replset config'); e.codeName = 'NotYetInitialized'; throw e; },
  initiate: (config) => { out.initiated = config; return { ok: 1 }; },
};
const code = args[args.indexOf('--eval') + 1];
try {
  vm.runInNewContext(code, { db, rs, require: (m) => (m === 'fs' ? fs : undefined), print: (s) => out.printed.push(s), sleep: () => {} });
} finally {
  fs.writeFileSync(${JSON.stringify(record)}, JSON.stringify(out));
}
`,
      );
      chmodSync(join(bin, 'getent'), 0o755);
      chmodSync(join(bin, 'mongosh'), 0o755);
      const r = spawnSync('sh', ['-c', script.replaceAll('/vault/secrets/', `${vault}/`)], {
        encoding: 'utf8',
        env: { PATH: `${bin}:${process.env.PATH}` },
      });
      const recorded = existsSync(record) ? JSON.parse(readFileSync(record, 'utf8')) : {};
      return { status: r.status, stderr: r.stderr, record: recorded };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  it('authenticates as root with the file’s password, which is on no command line and in no environment', () => {
    const { status, stderr, record } = run();
    expect(status, stderr).toBe(0);
    expect(record.auth).toEqual([['root', PASSWORD]]);
    expect((record.argv as string[]).filter((a) => a.includes(PASSWORD))).toEqual([]);
    expect(
      Object.entries(record.env as Record<string, string>).filter(([, v]) => v.includes(PASSWORD)),
    ).toEqual([]);
  });

  it('initiates rs0 with every member that resolves', () => {
    const { status, stderr, record } = run();
    expect(status, stderr).toBe(0);
    const domain = 'mongodb.isekai-data.svc.cluster.local';
    expect(record.initiated).toEqual({
      _id: 'rs0',
      members: [0, 1, 2].map((i) => ({ _id: i, host: `mongodb-${i}.${domain}:27017` })),
    });
  });
});
