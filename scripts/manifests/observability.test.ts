/**
 * Observability as files (k3s/observability): alert rules checked and unit-tested with promtool, the scrape
 * configuration checked with promtool. Debian's promtool is built without Kubernetes service discovery, so
 * the config is checked with each kubernetes_sd_configs block swapped for a static target (everything else
 * — relabelling, regexes, rule files — is checked as written), and the SD roles are checked here.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { FUNCTIONS } from './function-specs.ts';
import { renderKustomize } from './kustomize.ts';
import { loadManifests, REPO_ROOT } from './load.ts';
import { canReach, type Pod, podsOf } from './network-policy.ts';
import { json, knativeServices } from './pod-invariants.ts';
import { KNATIVE_METRICS_VERSION, UPSTREAM_METRICS } from './upstream-metrics.ts';

const DIR = join(REPO_ROOT, 'k3s', 'observability');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
const promtool = (args: string[], cwd = DIR) => spawnSync('promtool', args, { cwd, encoding: 'utf8' });
const tmp = mkdtempSync(join(tmpdir(), 'isekai-prom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface ScrapeConfig {
  job_name: string;
  kubernetes_sd_configs?: { role: string; namespaces?: { names: string[] } }[];
  static_configs?: { targets: string[] }[];
}

type Labels = Record<string, string>;
interface Relabel {
  source_labels?: string[];
  separator?: string;
  regex?: string;
  target_label?: string;
  replacement?: string;
  action?: string;
}
const INGRESS_LABELS: Labels = {
  'eventing.knative.dev/broker': 'default',
  'eventing.knative.dev/brokerRole': 'ingress',
};
const DISPATCHER_LABELS: Labels = {
  'eventing.knative.dev/broker': 'default',
  'eventing.knative.dev/brokerRole': 'dispatcher',
};
const scrapeJob = (name: string) => {
  const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: (ScrapeConfig & { relabel_configs?: Relabel[] })[];
  };
  const job = config.scrape_configs.find((j) => j.job_name === name);
  if (!job) throw new Error(`no scrape job ${name}`);
  return job;
};
/** Prometheus' pod SD (role pod): one target per declared container port, or one bare-IP target without. */
function podTargets(ip: string, name: string, labels: Labels, ports: [string, number][]): Labels[] {
  const meta: Labels = { __meta_kubernetes_namespace: 'isekai', __meta_kubernetes_pod_name: name };
  meta.__meta_kubernetes_pod_ip = ip;
  for (const [k, v] of Object.entries(labels))
    meta[`__meta_kubernetes_pod_label_${k.replace(/[^a-zA-Z0-9_]/g, '_')}`] = v;
  if (ports.length === 0) return [{ ...meta, __address__: ip }];
  return ports.map(([port, number]) => ({
    ...meta,
    __address__: `${ip}:${number}`,
    __meta_kubernetes_pod_container_port_name: port,
    __meta_kubernetes_pod_container_port_number: String(number),
  }));
}
/** Prometheus' relabelling (keep, drop, replace; anchored regexes, `;` separator): the target, or null when dropped. */
function relabel(target: Labels, configs: Relabel[]): Labels | null {
  const out = { ...target };
  for (const c of configs) {
    const value = (c.source_labels ?? []).map((l) => out[l] ?? '').join(c.separator ?? ';');
    const match = new RegExp(`^(?:${c.regex ?? '(.*)'})$`).exec(value);
    const action = c.action ?? 'replace';
    if (action === 'keep' && !match) return null;
    if (action === 'drop' && match) return null;
    if (action === 'replace' && match && c.target_label) {
      const replaced = (c.replacement ?? '$1').replace(/\$(\d+)/g, (_, i: string) => match[Number(i)] ?? '');
      if (replaced === '') delete out[c.target_label];
      else out[c.target_label] = replaced;
    }
  }
  return out;
}

describe('k3s/observability', () => {
  // scripts/install-deps.sh: apt-get install prometheus (Debian ships promtool with it).
  it('has promtool to check them', () => expect(hasPromtool, 'apt-get install prometheus').toBe(true));

  it('alert rules are valid', () => {
    const r = promtool(['check', 'rules', 'alerts.rules.yml']);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('every alert rule passes its unit tests (promtool test rules)', () => {
    const r = promtool(['test', 'rules', 'alerts.test.yml']);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('every alert rule has at least one unit test', () => {
    const rules = (
      parse(readFileSync(join(DIR, 'alerts.rules.yml'), 'utf8')) as {
        groups: { rules: { alert: string }[] }[];
      }
    ).groups
      .flatMap((g) => g.rules)
      .map((r) => r.alert);
    const tested = new Set(
      (
        parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as {
          tests: { alert_rule_test: { alertname: string }[] }[];
        }
      ).tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname)),
    );
    expect(rules.filter((r) => !tested.has(r))).toEqual([]);
    expect(rules.length).toBeGreaterThanOrEqual(8);
  });

  const alertRules = (
    parse(readFileSync(join(DIR, 'alerts.rules.yml'), 'utf8')) as {
      groups: { rules: { alert: string; expr: string }[] }[];
    }
  ).groups.flatMap((g) => g.rules);
  const exprOf = (alert: string) => alertRules.find((r) => r.alert === alert)?.expr ?? '';

  it('HotPathDown covers every hot path that serves /metrics, and stands in a 0 for each when its series vanish', () => {
    // The site is hot but serves no /metrics: its `up` would be 0 forever.
    const hot = FUNCTIONS.filter((f) => f.hot && f.name !== 'site')
      .map((f) => f.name)
      .sort();
    const expr = exprOf('HotPathDown');
    const regex = /function=~"([^"]+)"/.exec(expr)?.[1]?.split('|') ?? [];
    expect(regex.sort()).toEqual(hot);
    const standIns = [...expr.matchAll(/label_replace\(vector\(0\), "function", "([^"]+)"/g)].map(
      (m) => m[1],
    );
    expect(standIns.sort()).toEqual(hot);
  });

  it('DeadLettersArriving counts a function that never scales to zero (increase() misses a pod that came and went)', () => {
    const service = /increase\(events_handled_total\{service="([^"]+)"\}/.exec(
      exprOf('DeadLettersArriving'),
    )?.[1];
    expect(service).toBe('dead-letters');
    const spec = FUNCTIONS.find((f) => f.name === service);
    expect(spec?.hot || (spec?.warm ?? 0) >= 1).toBe(true);
    const ksvc = knativeServices(loadManifests()).get(service ?? '');
    const annotations = json(json(json(ksvc?.object.spec).template).metadata).annotations as Record<
      string,
      string
    >;
    expect(Number(annotations['autoscaling.knative.dev/min-scale'])).toBeGreaterThanOrEqual(1);
  });

  it("scrapes eventing-rabbitmq's Broker ingress and dispatchers on 9090, which their pods do not declare", () => {
    const job = scrapeJob('knative-eventing-rabbitmq');
    // Pod SD's targets for the pods eventing-rabbitmq makes (ingress.go: one port, 8080 "http"; dispatcher.go:
    // none), a function and the schema-migrate Job.
    const ingress = podTargets('10.42.1.5', 'default-broker-ingress-abc', INGRESS_LABELS, [['http', 8080]]);
    const dispatcher = podTargets('10.42.1.6', 'notify-dispatcher-def', DISPATCHER_LABELS, []);
    const fn = podTargets('10.42.1.7', 'catalog-00001-x', { 'serving.knative.dev/service': 'catalog' }, [
      ['user-port', 8080],
    ]);
    const migrate = podTargets(
      '10.42.1.8',
      'schema-migrate-y',
      { 'app.kubernetes.io/name': 'schema-migrate' },
      [],
    );
    const addresses = (targets: Labels[]) =>
      targets.map((t) => relabel(t, job.relabel_configs ?? [])).flatMap((t) => (t ? [t.__address__] : []));
    expect(addresses(ingress)).toEqual(['10.42.1.5:9090']);
    expect(addresses(dispatcher)).toEqual(['10.42.1.6:9090']);
    expect(addresses(fn)).toEqual([]);
    expect(addresses(migrate)).toEqual([]);
    // The policies let Prometheus in on that port.
    const manifests = [
      ...renderKustomize(join(REPO_ROOT, 'knative/overlays/production')),
      ...renderKustomize(DIR),
    ];
    const prom = podsOf(manifests).find((p) => p.name === 'prometheus') as Pod;
    const ingressPod: Pod = { name: 'default-broker-ingress', namespace: 'isekai', labels: INGRESS_LABELS };
    expect(canReach(manifests, prom, ingressPod, 9090)).toBe(true);
  });

  it('the scrape configuration is valid (Kubernetes SD swapped for static targets) and scrapes our namespaces', () => {
    const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: ScrapeConfig[];
    };
    const namespaces = config.scrape_configs.flatMap((j) =>
      (j.kubernetes_sd_configs ?? []).flatMap((s) => s.namespaces?.names ?? []),
    );
    expect(new Set(namespaces)).toEqual(
      new Set(['isekai', 'isekai-data', 'rook-ceph', 'cert-manager', 'knative-serving', 'knative-eventing']),
    );
    for (const job of config.scrape_configs) {
      for (const sd of job.kubernetes_sd_configs ?? [])
        expect(['pod', 'endpoints', 'service']).toContain(sd.role);
      delete job.kubernetes_sd_configs;
      job.static_configs = [{ targets: ['sd-replaced:80'] }];
    }
    writeFileSync(join(tmp, 'prometheus.yml'), stringify(config));
    cpSync(join(DIR, 'alerts.rules.yml'), join(tmp, 'alerts.rules.yml'));
    const r = promtool(['check', 'config', 'prometheus.yml'], tmp);
    expect(r.stdout + r.stderr).toContain('SUCCESS');
    expect(r.status).toBe(0);
  });

  it('catches a broken rule (a test expecting the wrong severity fails)', () => {
    cpSync(join(DIR, 'alerts.rules.yml'), join(tmp, 'alerts.rules.yml'));
    writeFileSync(
      join(tmp, 'alerts.test.yml'),
      readFileSync(join(DIR, 'alerts.test.yml'), 'utf8').replace(
        /severity: page, function: catalog/,
        'severity: ticket, function: catalog',
      ),
    );
    // The mutation applied (a formatter once turned it into a no-op).
    expect(readFileSync(join(tmp, 'alerts.test.yml'), 'utf8')).toContain(
      'severity: ticket, function: catalog',
    );
    const r = promtool(['test', 'rules', 'alerts.test.yml'], tmp);
    expect(r.status).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('HotPathDown');
  });
});

/**
 * Grafana dashboards (k3s/observability/dashboards/*.json): every panel query parses as PromQL (promtool
 * checks each as a recording rule) and names only series that exist — the functions' own (the registry
 * functions/lib/metrics.ts builds, default process metrics included; a histogram's _bucket/_sum/_count),
 * Prometheus' `up`, and RabbitMQ's per-object queue metrics (rabbitmq.com/docs/prometheus, queue_coarse_metrics).
 */
describe('k3s/observability/dashboards', () => {
  const dashDir = join(DIR, 'dashboards');
  const dashboards = readdirSync(dashDir)
    .filter((f) => f.endsWith('.json'))
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(dashDir, file), 'utf8')) as Dashboard }));
  const queries = dashboards.flatMap(({ file, json }) =>
    json.panels.flatMap((p) => p.targets.map((t) => ({ where: `${file} “${p.title}”`, expr: t.expr }))),
  );

  it('cover requests, latency and errors per function; queue depth, retries and dead letters; outbox backlog; cache hit rate, cold starts and replicas', () => {
    const text = queries.map((q) => q.expr).join('\n');
    for (const series of [
      'http_requests_total',
      'http_request_duration_seconds_bucket',
      'status=~"5.."',
      'rabbitmq_queue_messages_ready',
      'outcome="failed"',
      'service="dead-letters"',
      'cache_lookups_total{result="hit"}',
      'process_start_time_seconds',
      'up{job="isekai-functions"}',
      'outbox_oldest_pending_seconds',
    ])
      expect(text).toContain(series);
    expect(new Set(dashboards.map((d) => d.json.uid)).size).toBe(dashboards.length);
  });

  it('every panel query parses (promtool check rules)', () => {
    const rules = {
      groups: [
        {
          name: 'dashboards',
          rules: queries.map((q, i) => ({ record: `dashboard:query:${i}`, expr: q.expr })),
        },
      ],
    };
    writeFileSync(join(tmp, 'dashboards.rules.yml'), stringify(rules));
    const r = promtool(['check', 'rules', join(tmp, 'dashboards.rules.yml')]);
    expect(r.stdout + r.stderr).toContain(`SUCCESS: ${queries.length} rules found`);
    expect(r.status).toBe(0);
  });

  it('show Knative’s own cold starts and replicas (autoscaler, activator)', () => {
    const text = queries.map((q) => q.expr).join('\n');
    for (const series of ['autoscaler_actual_pods', 'autoscaler_desired_pods', 'activator_request_count'])
      expect(text).toContain(series);
  });
});

/**
 * Every series a dashboard panel or an alert rule names is exported by our code (the registry
 * functions/lib/metrics.ts builds, default process metrics included; a histogram's _bucket/_sum/_count) or is
 * an upstream metric listed with its source and scrape job (upstream-metrics.ts), and every listed one is used.
 */
describe('k3s/observability: every series named exists', () => {
  const dashDir = join(DIR, 'dashboards');
  const uses = [
    ...readdirSync(dashDir)
      .filter((f) => f.endsWith('.json'))
      .flatMap((file) =>
        (JSON.parse(readFileSync(join(dashDir, file), 'utf8')) as Dashboard).panels.flatMap((p) =>
          p.targets.map((t) => ({ where: `${file} “${p.title}”`, expr: t.expr })),
        ),
      ),
    ...(
      parse(readFileSync(join(DIR, 'alerts.rules.yml'), 'utf8')) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      }
    ).groups
      .flatMap((g) => g.rules)
      .map((r) => ({ where: `alerts.rules.yml ${r.alert}`, expr: r.expr })),
  ];
  const jobs = new Set(
    (
      parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as { scrape_configs: ScrapeConfig[] }
    ).scrape_configs.map((j) => j.job_name),
  );

  it('every series is our own or a listed upstream metric', async () => {
    const { createMetrics } = await import('../../functions/lib/metrics.ts');
    const registry = createMetrics('dashboards-check').registry;
    const exported = new Set<string>(UPSTREAM_METRICS.map((m) => m.name));
    for (const metric of await registry.getMetricsAsJSON()) {
      exported.add(metric.name);
      if (String(metric.type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) exported.add(metric.name + suffix);
    }
    expect(uses.length).toBeGreaterThan(20);
    for (const { where, expr } of uses) {
      const series = seriesOf(expr);
      expect(series.length, where).toBeGreaterThan(0);
      for (const name of series) expect([...exported], `${where}: ${name}`).toContain(name);
    }
  });

  it('every listed upstream metric is used, names its source, and is collected by a scrape job we have', () => {
    const used = new Set(uses.flatMap((u) => seriesOf(u.expr)));
    for (const m of UPSTREAM_METRICS) {
      expect(used.has(m.name), `${m.name} is used by no dashboard or rule`).toBe(true);
      expect(m.source, m.name).toMatch(/^https:\/\//);
      if (m.job !== null) expect([...jobs], m.name).toContain(m.job);
    }
  });

  it('the Knative metric names are those of the pinned Knative version', () => {
    const pinned = /^KNATIVE_SERVING_VERSION=(v\d+\.\d+)\./m.exec(
      readFileSync(join(REPO_ROOT, 'k3s', 'versions.env'), 'utf8'),
    )?.[1];
    expect(pinned).toBe(KNATIVE_METRICS_VERSION);
  });

  it('the name check catches a series nobody exports', () => {
    expect(seriesOf('sum(rate(kn_revision_request_count_total{x="y"}[5m])) by (service)')).toEqual([
      'kn_revision_request_count_total',
    ]);
    expect(UPSTREAM_METRICS.map((m) => m.name)).not.toContain('kn_revision_request_count_total');
  });
});

/** The series names a PromQL expression reads (label matchers, ranges, grouping clauses and functions dropped). */
function seriesOf(expr: string): string[] {
  const stripped = expr
    .replace(/"[^"]*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  // Whole identifiers not followed by "(" (those are functions); keywords and numbers dropped.
  return [...stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .filter((m) => !/^\s*\(/.test(stripped.slice((m.index ?? 0) + m[0].length)))
    .map((m) => m[0])
    .filter((w) => !/^(and|or|unless|bool|offset|le)$/.test(w))
    .filter((n) => /_/.test(n) || n === 'up');
}

interface Dashboard {
  uid: string;
  panels: { title: string; targets: { expr: string }[] }[];
}

/**
 * Knative's own spans reach our Zipkin: `config-tracing` in knative-serving and knative-eventing
 * (k3s/platform) uses only the keys Knative 1.18 reads (knative.dev/pkg tracing/config: backend,
 * zipkin-endpoint, sample-rate, debug; knative/docs eventing/accessing-traces.md), points at the Zipkin
 * Service of the rendered overlay, and that Zipkin admits both namespaces.
 */
describe('Knative tracing (config-tracing) points at our Zipkin', () => {
  const TRACING_KEYS = ['backend', 'zipkin-endpoint', 'sample-rate', 'debug'];
  const platform = loadManifests(join(REPO_ROOT, 'k3s/platform'));
  const overlay = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
  const zipkin = overlay.find((m) => m.object.kind === 'Service' && m.object.metadata.name === 'zipkin')
    ?.object as { metadata: { namespace: string }; spec: { ports: { port: number }[] } } | undefined;

  it.each(['knative-serving', 'knative-eventing'])('%s', (namespace) => {
    const cm = platform.find(
      (m) =>
        m.object.kind === 'ConfigMap' &&
        m.object.metadata.name === 'config-tracing' &&
        m.object.metadata.namespace === namespace,
    )?.object as { data: Record<string, string> } | undefined;
    expect(cm, `config-tracing in ${namespace}`).toBeDefined();
    const data = cm?.data ?? {};
    for (const key of Object.keys(data)) expect(TRACING_KEYS, key).toContain(key);
    expect(data.backend).toBe('zipkin');
    expect(zipkin).toBeDefined();
    expect(data['zipkin-endpoint']).toBe(
      `http://zipkin.${zipkin?.metadata.namespace}.svc.cluster.local:${zipkin?.spec.ports[0]?.port}/api/v2/spans`,
    );
    const rate = Number(data['sample-rate']);
    expect(rate).toBeGreaterThan(0);
    expect(rate).toBeLessThanOrEqual(1);
    const sender: Pod = { name: 'sender', namespace, labels: { app: 'activator' } };
    const pods = podsOf(overlay);
    const target = pods.find((p) => p.name === 'zipkin') as Pod;
    expect(canReach(overlay, sender, target, zipkin?.spec.ports[0]?.port ?? 0)).toBe(true);
  });
});
