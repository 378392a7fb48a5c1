/**
 * The production realm: knative/base/keycloak/realm-isekai.json with the dev-only defaults of its
 * placeholders removed (`${KC_X:dev-only-…}` → `${KC_X}`), so a missing variable can never fall back to a
 * secret published in this repository. The Keycloak pod refuses to start without the variables (Vault
 * renders them: 600-keycloak.yaml). Written to knative/overlays/production/keycloak/realm-isekai.json;
 * production-realm.test.ts fails when the two drift apart.
 *   node scripts/manifests/production-realm.ts   # regenerate after editing the base realm
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './load.ts';

export const BASE_REALM = join(REPO_ROOT, 'knative/base/keycloak/realm-isekai.json');
export const PRODUCTION_REALM = join(REPO_ROOT, 'knative/overlays/production/keycloak/realm-isekai.json');

/** Drops the default of every `${NAME:default}` placeholder whose default is a dev-only value. */
export function productionRealm(base: string): string {
  return base.replace(/\$\{([A-Z0-9_]+):dev-only-[^}]*\}/g, (_m, name: string) => `\${${name}}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(PRODUCTION_REALM, productionRealm(readFileSync(BASE_REALM, 'utf8')));
  console.log(`wrote ${PRODUCTION_REALM}`);
}
