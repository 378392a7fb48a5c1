import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  containerEnv,
  isPending,
  loadFunctionSettings,
  PENDING,
  settingsFile,
  VAULT_ADDR,
} from './function-env.ts';
import { FUNCTIONS } from './function-specs.ts';
import { loadManifests, REPO_ROOT } from './load.ts';
import { knativeServices } from './pod-invariants.ts';

const base = loadManifests();
const declared = await loadFunctionSettings();
const written = FUNCTIONS.map((f) => f.name).filter((n) =>
  existsSync(join(REPO_ROOT, 'functions', n, 'settings.ts')),
);

describe('function settings: one declared source per function', () => {
  it('PENDING lists exactly the catalogue functions whose code is not written yet', () => {
    const unwritten = FUNCTIONS.map((f) => f.name).filter((n) => !existsSync(settingsFile(n)));
    expect(Object.keys(PENDING).sort()).toEqual(unwritten.sort());
  });

  expect(written, 'functions with code').toHaveLength(13);
  it.each(written)('%s: index.ts wires from loadFunctionEnv with the lists of its settings.ts', (name) => {
    const index = readFileSync(join(REPO_ROOT, 'functions', name, 'index.ts'), 'utf8');
    expect(index).toContain(
      `await loadFunctionEnv('${name}', { shared: sharedSecrets, required: vaultSettings })`,
    );
    expect(index).toMatch(/import \{[^}]*\bsharedSecrets\b[^}]*\} from '\.\/settings\.ts'/);
    const fn = declared.get(name);
    expect(fn && !isPending(fn) && fn.settings.length).toBeGreaterThan(0);
  });

  expect(FUNCTIONS, 'catalogue functions').toHaveLength(14);
  it.each(FUNCTIONS.map((f) => f.name))(
    '%s: its Knative Service reaches Vault and gets every Vault setting',
    (name) => {
      const m = knativeServices(base).get(name);
      if (!m) throw new Error(`no Knative Service ${name}`);
      const fn = declared.get(name);
      if (!fn) throw new Error(`no settings for ${name}`);
      const { env, problems } = containerEnv(base, m, fn);
      expect(problems).toEqual([]);
      expect(env.VAULT_ADDR).toBe(VAULT_ADDR);
      for (const setting of fn.vaultSettings) expect(env[setting], setting).toBeTruthy();
    },
  );

  it("K_SINK is the RabbitMQ Broker's own ingress Service (default-broker-ingress in isekai, no path)", () => {
    const m = knativeServices(base).get('outbox-relay');
    const fn = declared.get('outbox-relay');
    if (!m || !fn) throw new Error('no outbox-relay');
    expect(containerEnv(base, m, fn).env.K_SINK).toBe(
      'http://default-broker-ingress.isekai.svc.cluster.local',
    );
    // The AsyncAPI document names the same server.
    expect(readFileSync(join(REPO_ROOT, 'events/asyncapi.yaml'), 'utf8')).toContain(
      'host: default-broker-ingress.isekai.svc.cluster.local',
    );
  });
});
