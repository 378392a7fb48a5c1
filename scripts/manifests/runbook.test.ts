/**
 * k3s/RUNBOOK.md's commands are real: every `kubectl` line parses with kubectl's own flag parser (run
 * against an unreachable server: a parse error is reported before any connection is tried), every `kn` line
 * uses a known subcommand and flag, and every namespace and object a command names exists in the rendered
 * manifests (production overlay, rook/, k3s/observability, k3s/platform) or among the objects the operators create.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadFunctionSettings } from './function-env.ts';
import { platformLimits } from './knative-limits.ts';
import { renderKustomize } from './kustomize.ts';
import { loadManifests, parseManifests, REPO_ROOT } from './load.ts';
import { checkContainers, podSpec } from './pod-invariants.ts';

const text = readFileSync(join(REPO_ROOT, 'k3s', 'RUNBOOK.md'), 'utf8');
const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');

/** Shell-like words of one command (quotes kept together, `$(…)`, `"…"` and `<…>` made inert). */
function words(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/'[^']*'|"[^"]*"|\S+/g)) {
    const w = m[0];
    out.push(w.startsWith("'") || w.startsWith('"') ? w.slice(1, -1) : w);
  }
  return out;
}

/** Each kubectl/kn command of the runbook, comments and redirections dropped, split at pipes and `&&`. */
const commands = blocks
  .flatMap((b) => b.split('\n'))
  .map((l) =>
    l
      .replace(/\s+#.*$/, '')
      .replace(/\s*[<>&]\s*[^\s'"]*$/, '')
      .trim(),
  )
  .flatMap((l) => l.split(/\s(?:\||&&)\s/))
  .map((c) => c.trim())
  .filter((c) => /^(kubectl|kn)\s/.test(c));

const production = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
const all = [
  ...production,
  ...renderKustomize(join(REPO_ROOT, 'rook')),
  ...renderKustomize(join(REPO_ROOT, 'k3s/observability')),
  ...loadManifests(join(REPO_ROOT, 'k3s/platform')),
];
/** Objects made by controllers or charts, not by our manifests (name them here only when documented). */
const MADE_ELSEWHERE: Record<string, string[]> = {
  pod: ['vault/vault-0', 'isekai-data/rabbitmq-server-0'],
  // CloudNativePG's Service for the primary of Cluster postgres.
  service: ['isekai-data/postgres-rw'],
  // Jobs the runbook itself creates (`kubectl … create job <name>`) before naming them.
  job: [...text.matchAll(/kubectl -n (\S+) create job ([a-z0-9-]+)/g)].map((m) => `${m[1]}/${m[2]}`),
};
const KINDS: Record<string, string> = {
  job: 'Job',
  cronjob: 'CronJob',
  pvc: 'PersistentVolumeClaim',
  service: 'Service',
  'clusters.postgresql.cnpg.io': 'Cluster',
  'scheduledbackups.postgresql.cnpg.io': 'ScheduledBackup',
  ksvc: 'Service',
  deployment: 'Deployment',
  statefulset: 'StatefulSet',
  rabbitmqcluster: 'RabbitmqCluster',
  cephcluster: 'CephCluster',
  objectbucketclaim: 'ObjectBucketClaim',
  trigger: 'Trigger',
  triggers: 'Trigger',
  broker: 'Broker',
  pod: 'Pod',
  networkpolicy: 'NetworkPolicy',
};
const namespaces = new Set([
  ...all.filter((m) => m.object.kind === 'Namespace').map((m) => m.object.metadata.name),
  ...all.map((m) => m.object.metadata.namespace).filter((n): n is string => !!n),
  'vault',
  'rook-ceph',
]);
function exists(kind: string, namespace: string, name: string): boolean {
  if (MADE_ELSEWHERE[kind]?.includes(`${namespace}/${name}`)) return true;
  const k = KINDS[kind];
  return all.some(
    (m) =>
      m.object.kind === k &&
      m.object.metadata.name === name &&
      (m.object.metadata.namespace ?? namespace) === namespace &&
      (kind !== 'ksvc' || m.object.apiVersion.startsWith('serving.knative.dev/')),
  );
}

/** kn subcommands and flags we use (kn 1.18 reference: knative.dev/docs/client/reference). */
const KN: Record<string, string[]> = {
  'service list': ['-n'],
  'service describe': ['-n'],
  'service update': [
    '-n',
    '--traffic',
    '--tag',
    '--untag',
    '--scale-min',
    '--scale-max',
    '--scale-target',
    '--concurrency-limit',
  ],
  'revision list': ['-n', '-s'],
  'trigger list': ['-n'],
  'trigger describe': ['-n'],
  'broker describe': ['-n'],
  'broker list': ['-n'],
};

describe('k3s/RUNBOOK.md', () => {
  it('has commands to check', () => {
    expect(commands.length).toBeGreaterThanOrEqual(25);
  });

  it.each(commands.filter((c) => c.startsWith('kubectl')))('parses: %s', (command) => {
    const args = words(command).slice(1);
    const r = spawnSync(
      'kubectl',
      [
        '--kubeconfig=/dev/null',
        '--server=https://127.0.0.1:9',
        '--token=not-a-token',
        '--request-timeout=2s',
        ...args,
      ],
      {
        encoding: 'utf8',
        input: '',
        timeout: 20_000,
      },
    );
    expect(r.stderr).not.toMatch(
      /unknown (flag|command|shorthand)|flag needs an argument|invalid argument|error: (you must|required|arguments in resource\/name form)/i,
    );
  });

  it.each(commands.filter((c) => c.startsWith('kn')))('is a known kn command: %s', (command) => {
    const w = words(command).slice(1);
    const sub = `${w[0]} ${w[1]}`;
    expect(Object.keys(KN)).toContain(sub);
    const flags = w.filter((x) => x.startsWith('-'));
    for (const f of flags) expect(KN[sub], f).toContain(f);
  });

  it.each(commands.filter((c) => /\s-f\s+(?!-(\s|$))/.test(c)))(
    'applies files that exist (relative to k3s/): %s',
    (command) => {
      const w = words(command);
      for (const [i, x] of w.entries())
        if (x === '-f' && w[i + 1] && w[i + 1] !== '-')
          expect(existsSync(join(REPO_ROOT, 'k3s', w[i + 1] ?? '')), w[i + 1]).toBe(true);
    },
  );

  it('its Jobs (k3s/jobs/) hold to the pod rules of every workload and run as a function whose ServiceAccount exists', () => {
    const jobs = readdirSync(join(REPO_ROOT, 'k3s', 'jobs')).flatMap((file) =>
      // generateName (a new Job per `kubectl create`) stands in for the name the loader requires.
      parseManifests(
        readFileSync(join(REPO_ROOT, 'k3s', 'jobs', file), 'utf8').replace(
          /generateName: (\S+)-\n/,
          'name: $1\n',
        ),
        `k3s/jobs/${file}`,
      ),
    );
    expect(jobs.length).toBeGreaterThan(0);
    expect(checkContainers(jobs)).toEqual([]);
    for (const job of jobs) {
      const pod = podSpec(job.object) ?? {};
      expect(exists('ksvc', job.object.metadata.namespace ?? '', String(pod.serviceAccountName))).toBe(true);
      const image = String(((pod.containers ?? []) as { image?: string }[])[0]?.image);
      expect(image).toMatch(new RegExp(`/isekai/${String(pod.serviceAccountName)}:`));
    }
  });

  it.each(commands)('names only namespaces and objects that exist: %s', (command) => {
    const w = words(command);
    const nsIndex = w.findIndex((x) => x === '-n' || x === '--namespace');
    const namespace = nsIndex >= 0 ? (w[nsIndex + 1] ?? '') : 'default';
    if (nsIndex >= 0) expect([...namespaces]).toContain(namespace);
    const missing: string[] = [];
    for (const [i, x] of w.entries()) {
      const slash = /^([a-z.]+)\/([a-z0-9-]+)$/.exec(x);
      if (slash?.[1] && slash[2] && KINDS[slash[1]] && !exists(slash[1], namespace, slash[2]))
        missing.push(x);
      // `get <kind> <name>`, `kn service update <name>`, `kn trigger describe <name>`, …
      const kind = w[i - 1];
      if (
        kind &&
        KINDS[kind] &&
        w[i - 2] &&
        ['get', 'describe', 'patch'].includes(w[i - 2] ?? '') &&
        /^[a-z0-9-]+$/.test(x)
      ) {
        if (!exists(kind, namespace, x)) missing.push(`${kind} ${x}`);
      }
    }
    if (w[0] === 'kn' && ['update', 'describe'].includes(w[2] ?? '') && w[3] && !w[3].startsWith('-')) {
      const kind = w[1] === 'service' ? 'ksvc' : (w[1] ?? '');
      if (!exists(kind, namespace, w[3])) missing.push(`${w[1]} ${w[3]}`);
    }
    if (w[0] === 'kn' && w.includes('-s')) {
      const svc = w[w.indexOf('-s') + 1] ?? '';
      if (!exists('ksvc', namespace, svc)) missing.push(`ksvc ${svc}`);
    }
    expect(missing).toEqual([]);
  });

  it('never sets a max-scale Knative rejects: 0 is unbounded (refused under max-scale-limit), past the limit', () => {
    expect(text).not.toMatch(/--scale-max[ =]0\b/);
    const limit = platformLimits().maxScaleLimit;
    const maxes = commands
      .filter((c) => c.startsWith('kn '))
      .flatMap((c) => [...c.matchAll(/--scale-max[ =](\S+)/g)].map((m) => m[1] ?? ''));
    expect(maxes.length).toBeGreaterThan(0);
    for (const max of maxes) {
      expect(Number(max), max).toBeGreaterThanOrEqual(1);
      expect(Number(max), max).toBeLessThanOrEqual(limit);
    }
  });

  it('stops the PostgreSQL writers through the role the functions log in as, and MongoDB through its policy', () => {
    const pg = production.find(
      (m) => m.object.kind === 'Cluster' && m.object.apiVersion.startsWith('postgresql.cnpg.io/'),
    );
    const roles = (pg?.object.spec as { managed?: { roles?: { name: string }[] } } | undefined)?.managed
      ?.roles;
    // The patch names roles/0 and tests its name: it must be the functions' role.
    expect(roles?.[0]?.name).toBe('isekai_app');
    expect(text).toContain('"path":"/spec/managed/roles/0/name","value":"isekai_app"');
    const mongoReaders = production.find(
      (m) => m.object.kind === 'NetworkPolicy' && m.object.metadata.name === 'mongodb-from-readers',
    );
    const values = JSON.stringify(mongoReaders?.object.spec);
    for (const writer of ['notifications', 'notify', 'outbox-relay', 'subtitles', 'upload-subtitle'])
      expect(values).toContain(`"${writer}"`);
    expect(text).toContain(
      "delete pod -l 'app.kubernetes.io/name in (notifications,notify,outbox-relay,subtitles,upload-subtitle)'",
    );
  });

  it('rotates a secret through a shell variable and stdin, marked admin, and restarts every reader of it', async () => {
    const lines = blocks.flatMap((b) => b.split('\n'));
    // A value on a command line is visible to every process on the machine (ps) and kept in shell history.
    for (const l of lines.filter((x) => /\bvault kv (put|patch)\b/.test(x))) {
      expect(l, l).not.toMatch(/vault kv (put|patch) \S+ [A-Z_]+=/);
      expect(l, l).toMatch(/ -\s+# admin$/);
    }
    // Each Redis' URL (the cache's, the sessions'): the first restart loop after its `vault kv patch` restarts
    // exactly the functions whose Vault settings carry it.
    const declared = await loadFunctionSettings();
    for (const setting of ['REDIS_URL', 'SESSION_REDIS_URL']) {
      const patched = lines.findIndex((l) => l.includes(`{"${setting}":`) && /vault kv patch/.test(l));
      expect(patched, setting).toBeGreaterThanOrEqual(0);
      const loop =
        lines.slice(patched).find((l) => /^for fn in .* do kubectl -n isekai patch ksvc "\$fn"/.test(l)) ??
        '';
      const restarted = (/^for fn in (.*?); do/.exec(loop)?.[1] ?? '').split(' ').sort();
      const readers = [...declared]
        .filter(([, f]) => f.vaultSettings.includes(setting))
        .map(([name]) => name)
        .sort();
      expect(readers.length, setting).toBeGreaterThan(0);
      expect(restarted, setting).toEqual(readers);
      for (const name of restarted) expect(exists('ksvc', 'isekai', name), name).toBe(true);
    }
  });

  it('follows the Job it created (not every Job with its label), and names restore Jobs afresh each time', () => {
    const lines = blocks.flatMap((b) => b.split('\n'));
    expect(lines.filter((l) => /(wait|logs) .*-l isekai\.dev\/job=/.test(l))).toEqual([]);
    for (const l of lines.filter((x) => /kubectl create -f (-|jobs\/|restore\/postgres-backup)/.test(x)))
      if (!/sed /.test(l)) expect(l, l).toMatch(/^\w+=\$\(.* -o name\)$/);
    expect(text).not.toMatch(/create job mongodb-restore /);
    expect(text).toContain('job=mongodb-restore-$(date -u +%Y%m%d%H%M%S)');
  });

  it('a point-in-time restore is followed by a base backup into the new archive', () => {
    const block = blocks.find((b) => b.includes('apply -f restore/postgres-pitr.yaml')) ?? '';
    expect(block.indexOf('kubectl create -f restore/postgres-backup.yaml')).toBeGreaterThan(
      block.indexOf('apply -f restore/postgres-pitr.yaml'),
    );
    const backup = parseManifests(
      readFileSync(join(REPO_ROOT, 'k3s/restore/postgres-backup.yaml'), 'utf8'),
      'k3s/restore/postgres-backup.yaml',
    )[0];
    if (!backup) throw new Error('no Backup in k3s/restore/postgres-backup.yaml');
    expect(backup.object.kind).toBe('Backup');
    expect((backup.object.spec as { cluster: { name: string } }).cluster.name).toBe('postgres');
    expect(exists('clusters.postgresql.cnpg.io', 'isekai-data', 'postgres')).toBe(true);
  });

  it('the name check catches a wrong name', () => {
    expect(exists('ksvc', 'isekai', 'catalogue')).toBe(false);
    expect(exists('ksvc', 'isekai', 'catalog')).toBe(true);
    expect(exists('statefulset', 'isekai-data', 'mongodb')).toBe(true);
    expect(exists('statefulset', 'isekai', 'mongodb')).toBe(false);
    expect(exists('clusters.postgresql.cnpg.io', 'isekai-data', 'postgres')).toBe(true);
    expect(exists('cronjob', 'isekai-data', 'mongodb-backup')).toBe(false);
  });

  it('the parse check catches a bad flag', () => {
    const r = spawnSync(
      'kubectl',
      [
        '--kubeconfig=/dev/null',
        '--server=https://127.0.0.1:9',
        'rollout',
        'status',
        'deployment/redis',
        '--timeout-seconds=3',
      ],
      {
        encoding: 'utf8',
      },
    );
    expect(r.stderr).toMatch(/unknown flag/);
  });
});
