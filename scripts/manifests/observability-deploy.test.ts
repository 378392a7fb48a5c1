/**
 * The observability stack as deployed (k3s/observability/kustomization.yaml rendered with kubectl kustomize):
 * the configuration files of k3s/observability reach the pods unchanged through the generated ConfigMaps (one
 * source, no copies), every path a configuration names is mounted, secrets come only from the Secrets the
 * install creates, images are the versions pinned in k3s/versions.env, Prometheus keeps its data on a volume
 * with a retention, and its RBAC allows exactly what Kubernetes SD needs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { renderKustomize } from './kustomize.ts';
import { type KubeObject, REPO_ROOT } from './load.ts';

const DIR = join(REPO_ROOT, 'k3s', 'observability');
const rendered = renderKustomize(DIR).map((m) => m.object);
const local = renderKustomize(join(REPO_ROOT, 'k3s', 'monitoring-local')).map((m) => m.object);
const versions = Object.fromEntries(
  readFileSync(join(REPO_ROOT, 'k3s', 'versions.env'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z0-9_]+=/.test(l))
    .map((l) => l.split('=') as [string, string]),
);

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked field by field below
type Any = any;
const find = (kind: string, name: string): Any => {
  const o = rendered.find((x) => x.kind === kind && x.metadata.name === name);
  if (!o) throw new Error(`no ${kind}/${name} in the rendered stack`);
  return o;
};
/** The generated ConfigMap whose name starts with `prefix-` (kustomize adds a content hash). */
const configMap = (prefix: string): Any => {
  const o = rendered.find(
    (x) => x.kind === 'ConfigMap' && new RegExp(`^${prefix}-[a-z0-9]{10}$`).test(x.metadata.name),
  );
  if (!o) throw new Error(`no generated ConfigMap ${prefix}`);
  return o;
};
const file = (name: string) => readFileSync(join(DIR, name), 'utf8');
const pod = (o: Any) => o.spec.template.spec;
/** The mount path of the volume that holds ConfigMap/Secret `source` in workload `o`. */
function mountOf(o: Any, source: string): string | undefined {
  const volume = (pod(o).volumes as Any[]).find(
    (v) => v.configMap?.name === source || v.secret?.secretName === source,
  );
  return (pod(o).containers[0].volumeMounts as Any[]).find((m) => m.name === volume?.name)?.mountPath;
}

describe('k3s/observability deployed', () => {
  it('renders the stack into namespace monitoring only', () => {
    const kinds = rendered.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '')}`);
    for (const k of [
      'Namespace/monitoring',
      'StatefulSet/prometheus',
      'Deployment/alertmanager',
      'Deployment/grafana',
      'ConfigMap/prometheus-config',
      'NetworkPolicy/default-deny',
    ])
      expect(kinds).toContain(k);
    for (const o of rendered.filter(
      (x) => !['Namespace', 'ClusterRole', 'ClusterRoleBinding'].includes(x.kind),
    ))
      expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('monitoring');
  });

  it('carries prometheus.yml, the alert rules, alertmanager.yml and every dashboard unchanged (one source)', () => {
    expect(configMap('prometheus-config').data).toEqual({
      'prometheus.yml': file('prometheus.yml'),
      'alerts.rules.yml': file('alerts.rules.yml'),
    });
    expect(configMap('alertmanager-config').data).toEqual({ 'alertmanager.yml': file('alertmanager.yml') });
    expect(configMap('blackbox-config').data).toEqual({ 'blackbox.yml': file('blackbox.yml') });
    // The edge-certificates job probes through our exporter's Service, with a module it defines.
    const job = (parse(file('prometheus.yml')) as Any).scrape_configs.find(
      (j: Any) => j.job_name === 'edge-certificates',
    );
    const exporter = find('Service', 'blackbox-exporter');
    expect(job.relabel_configs.at(-1).replacement).toBe(
      `blackbox-exporter.monitoring.svc.cluster.local:${exporter.spec.ports[0].port}`,
    );
    expect(Object.keys((parse(file('blackbox.yml')) as Any).modules)).toEqual(job.params.module);
    const bb = find('Deployment', 'blackbox-exporter');
    expect(pod(bb).containers[0].args).toContain(
      `--config.file=${mountOf(bb, configMap('blackbox-config').metadata.name)}/blackbox.yml`,
    );
    const dashboards = readdirSync(join(DIR, 'dashboards')).filter((f) => f.endsWith('.json'));
    expect(Object.keys(configMap('grafana-dashboards').data).sort()).toEqual(dashboards.sort());
    for (const d of dashboards)
      expect(configMap('grafana-dashboards').data[d]).toBe(file(join('dashboards', d)));
    // No second copy of the rules anywhere in k3s/ (a PrometheusRule, a pasted ConfigMap).
    const copies = readdirSync(join(REPO_ROOT, 'k3s'), { recursive: true, encoding: 'utf8' })
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .filter((f) => readFileSync(join(REPO_ROOT, 'k3s', f), 'utf8').includes('alert: HotPathDown'));
    expect(copies).toEqual(['observability/alerts.rules.yml']);
  });

  it('Prometheus reads its mounted configuration, keeps 15 days on a 20 GiB volume, and alerts Alertmanager', () => {
    const prom = find('StatefulSet', 'prometheus');
    const args = pod(prom).containers[0].args as string[];
    const configDir = mountOf(prom, configMap('prometheus-config').metadata.name);
    expect(args).toContain(`--config.file=${configDir}/prometheus.yml`);
    expect(args).toContain('--storage.tsdb.retention.time=15d');
    expect(args.some((a) => /^--storage\.tsdb\.retention\.size=\d+GB$/.test(a))).toBe(true);
    const data = (pod(prom).containers[0].volumeMounts as Any[]).find((m) => m.name === 'data');
    expect(args).toContain(`--storage.tsdb.path=${data.mountPath}`);
    const claim = prom.spec.volumeClaimTemplates[0];
    expect(claim.metadata.name).toBe('data');
    expect(claim.spec.storageClassName).toBe('rook-ceph-block');
    expect(claim.spec.resources.requests.storage).toBe('20Gi');
    const localProm = local.find((o) => o.kind === 'StatefulSet') as Any;
    expect(localProm.spec.volumeClaimTemplates[0].spec.storageClassName).toBe('local-path');
    // Retention size below the volume, with room for the write-ahead log.
    const size = Number(/retention\.size=(\d+)GB/.exec(args.join(' '))?.[1]);
    expect(size * 1e9).toBeLessThan(0.85 * 20 * 2 ** 30);
    const config = parse(file('prometheus.yml')) as Any;
    const am = config.alerting.alertmanagers[0].static_configs[0].targets[0] as string;
    const svc = find('Service', 'alertmanager');
    expect(am).toBe(`alertmanager.monitoring.svc.cluster.local:${svc.spec.ports[0].port}`);
  });

  it('Prometheus may list exactly what Kubernetes SD reads, and nothing else', () => {
    const role = find('ClusterRole', 'isekai-prometheus');
    const rules = role.rules as { apiGroups: string[]; resources: string[]; verbs: string[] }[];
    for (const r of rules) expect(r.verbs.sort()).toEqual(['get', 'list', 'watch']);
    expect(rules.flatMap((r) => r.resources).sort()).toEqual([
      'endpoints',
      'endpointslices',
      'pods',
      'services',
    ]);
    const binding = find('ClusterRoleBinding', 'isekai-prometheus');
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'prometheus', namespace: 'monitoring' },
    ]);
    expect(pod(find('StatefulSet', 'prometheus')).serviceAccountName).toBe('prometheus');
  });

  it('Alertmanager sends to a receiver read from the Secret the install creates; the repository holds no Secret', () => {
    const am = find('Deployment', 'alertmanager');
    const config = parse(file('alertmanager.yml')) as Any;
    const names = new Set((config.receivers as Any[]).map((r) => r.name));
    const routes = [config.route, ...(config.route.routes ?? [])];
    for (const r of routes) expect([...names]).toContain(r.receiver);
    const urlFiles = (config.receivers as Any[]).flatMap((r) => (r.webhook_configs ?? []).map((w: Any) => w));
    expect(urlFiles.length).toBeGreaterThan(0);
    const secretDir = mountOf(am, 'alertmanager-receiver');
    for (const w of urlFiles) {
      expect(w.url, 'a URL written in the repository').toBeUndefined();
      expect(w.url_file).toBe(`${secretDir}/webhook-url`);
    }
    expect(pod(am).containers[0].args).toContain(
      `--config.file=${mountOf(am, configMap('alertmanager-config').metadata.name)}/alertmanager.yml`,
    );
    expect(rendered.filter((o) => o.kind === 'Secret')).toEqual([]);
    // The install creates both Secrets the stack reads.
    const install = readFileSync(join(REPO_ROOT, 'k3s', 'install-platform.sh'), 'utf8');
    expect(install).toContain('ensure_secret monitoring alertmanager-receiver webhook-url');
    expect(install).toContain('ensure_secret monitoring grafana-admin admin-password random_hex');
  });

  it('Grafana: the provisioned datasource is our Prometheus Service, dashboards are read from their mount, the admin password from its Secret', () => {
    const grafana = find('Deployment', 'grafana');
    const ds = (parse(file('grafana-datasources.yml')) as Any).datasources[0];
    const prom = find('Service', 'prometheus');
    expect(ds.url).toBe(`http://prometheus.monitoring.svc.cluster.local:${prom.spec.ports[0].port}`);
    expect(ds.type).toBe('prometheus');
    expect(mountOf(grafana, configMap('grafana-provisioning-datasources').metadata.name)).toBe(
      '/etc/grafana/provisioning/datasources',
    );
    expect(mountOf(grafana, configMap('grafana-provisioning-dashboards').metadata.name)).toBe(
      '/etc/grafana/provisioning/dashboards',
    );
    const provider = (parse(file('grafana-dashboards.yml')) as Any).providers[0];
    expect(mountOf(grafana, configMap('grafana-dashboards').metadata.name)).toBe(provider.options.path);
    const env = pod(grafana).containers[0].env as Any[];
    expect(env.find((e) => e.name === 'GF_SECURITY_ADMIN_PASSWORD')).toEqual({
      name: 'GF_SECURITY_ADMIN_PASSWORD',
      valueFrom: { secretKeyRef: { name: 'grafana-admin', key: 'admin-password' } },
    });
    // Every dashboard's datasource variable is of the provisioned type.
    for (const d of Object.values(configMap('grafana-dashboards').data) as string[]) {
      const variable = (JSON.parse(d) as Any).templating.list.find((v: Any) => v.name === 'datasource');
      expect(variable.query).toBe(ds.type);
    }
  });

  it('runs the image versions pinned in k3s/versions.env', () => {
    const image = (kind: string, name: string) => pod(find(kind, name)).containers[0].image as string;
    expect(image('StatefulSet', 'prometheus')).toBe(
      `quay.io/prometheus/prometheus:${versions.PROMETHEUS_VERSION}`,
    );
    expect(image('Deployment', 'alertmanager')).toBe(
      `quay.io/prometheus/alertmanager:${versions.ALERTMANAGER_VERSION}`,
    );
    expect(image('Deployment', 'grafana')).toBe(`docker.io/grafana/grafana:${versions.GRAFANA_VERSION}`);
    expect(image('Deployment', 'blackbox-exporter')).toBe(
      `quay.io/prometheus/blackbox-exporter:${versions.BLACKBOX_EXPORTER_VERSION}`,
    );
  });

  it('every container runs as non-root with a read-only root, no capabilities, requests and limits, probes', () => {
    for (const o of rendered.filter((x: KubeObject) =>
      ['StatefulSet', 'Deployment'].includes(x.kind),
    ) as Any[]) {
      const spec = pod(o);
      expect(spec.securityContext.runAsNonRoot, o.metadata.name).toBe(true);
      expect(spec.securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
      for (const c of spec.containers as Any[]) {
        expect(c.securityContext).toEqual({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
        expect(Object.keys(c.resources).sort()).toEqual(['limits', 'requests']);
        expect(c.readinessProbe && c.livenessProbe, c.name).toBeTruthy();
      }
    }
  });
});
