/**
 * Observability as files (k3s/observability): alert rules checked and unit-tested with promtool, the scrape
 * configuration checked with promtool. Debian's promtool is built without Kubernetes service discovery, so
 * the config is checked with each kubernetes_sd_configs block swapped for a static target (everything else
 * — relabelling, regexes, rule files — is checked as written), and the SD roles are checked here.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './load.ts';

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

  it('the scrape configuration is valid (Kubernetes SD swapped for static targets) and scrapes our namespaces', () => {
    const config = parse(readFileSync(join(DIR, 'prometheus.yml'), 'utf8')) as {
      scrape_configs: ScrapeConfig[];
    };
    const namespaces = config.scrape_configs.flatMap((j) =>
      (j.kubernetes_sd_configs ?? []).flatMap((s) => s.namespaces?.names ?? []),
    );
    expect(new Set(namespaces)).toEqual(new Set(['isekai', 'isekai-data', 'rook-ceph', 'cert-manager']));
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
