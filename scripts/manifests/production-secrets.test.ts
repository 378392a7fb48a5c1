import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderKustomize, renderWithComponents } from './kustomize.ts';
import { REPO_ROOT } from './load.ts';
import { podSpec } from './pod-invariants.ts';
import { BASE_REALM, PRODUCTION_REALM, productionRealm } from './production-realm.ts';

const production = renderKustomize(join(REPO_ROOT, 'knative/overlays/production'));
const text = JSON.stringify(production.map((m) => m.object));
/** Markers of a value published in this repository. */
const DEV = /dev-only|changeme|placeholder/i;

describe('production holds no secret from this repository', () => {
  it('the rendered production overlay contains no dev-only value', () => {
    expect(text.match(new RegExp(DEV.source, 'gi')) ?? []).toEqual([]);
  });

  it('…and neither does production with any extra component but no-vault (which brings a dev Secret)', () => {
    for (const c of ['dev-scale']) {
      const rendered = renderWithComponents(join(REPO_ROOT, 'knative/overlays/production'), [
        join(REPO_ROOT, 'knative/components', c),
      ]);
      expect(JSON.stringify(rendered.map((m) => m.object))).not.toMatch(DEV);
    }
  });

  it('renders no Secret at all: every credential comes from Vault (or a Secret a controller generates)', () => {
    expect(production.filter((m) => m.object.kind === 'Secret').map((m) => m.object.metadata.name)).toEqual(
      [],
    );
  });

  it('the check catches the base realm’s dev-only client secrets (the fault it was written for)', () => {
    const base = JSON.stringify(renderKustomize(join(REPO_ROOT, 'knative/base')).map((m) => m.object));
    expect(base).toMatch(/dev-only-isekai-integrations-secret/);
  });
});

describe('the production realm', () => {
  const realm = readFileSync(PRODUCTION_REALM, 'utf8');

  it('is the base realm without its dev-only fallbacks (regenerate: node scripts/manifests/production-realm.ts)', () => {
    expect(realm).toBe(productionRealm(readFileSync(BASE_REALM, 'utf8')));
  });

  it('is what the production overlay mounts into Keycloak', () => {
    const cm = production.find(
      (m) => m.object.kind === 'ConfigMap' && m.object.metadata.name.startsWith('keycloak-realm'),
    );
    expect((cm?.object.data as Record<string, string> | undefined)?.['realm-isekai.json']).toBe(realm);
  });

  it('takes every client secret from a variable that Keycloak’s container refuses to start without', () => {
    const variables = [...realm.matchAll(/\$\{([A-Z][A-Z0-9_]*)\}/g)].map((m) => m[1]);
    expect(variables.sort()).toEqual(['KC_ISEKAI_INTEGRATIONS_SECRET', 'KC_ISEKAI_SITE_SECRET']);
    const keycloak = production.find(
      (m) => m.object.kind === 'Deployment' && m.object.metadata.name === 'keycloak',
    );
    const container = (
      (keycloak && podSpec(keycloak.object)?.containers) as { args?: string[] }[] | undefined
    )?.[0];
    const script = (container?.args ?? []).join('\n');
    for (const v of variables) expect(script).toContain(`: "\${${v}:?`);
    const notes = JSON.stringify((keycloak?.object.spec as { template?: unknown } | undefined)?.template);
    expect(notes).toContain('agent-inject-secret-clients.env":"kv/data/isekai-data/keycloak/clients"');
  });
});
