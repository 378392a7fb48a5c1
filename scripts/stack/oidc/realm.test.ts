// biome-ignore-all lint/suspicious/noTemplateCurlyInString: Keycloak placeholders are what these tests are about
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRealm, resolvePlaceholders } from './realm.ts';

const keycloak = new URL('../../../knative/base/keycloak/', import.meta.url).pathname;

describe('realm export loading', () => {
  it('resolves ${VAR:default} placeholders like Keycloak', () => {
    expect(resolvePlaceholders('${A:x}/${B:y}/${env.C:z}', { A: 'a', C: 'c' })).toBe('a/y/c');
    expect(resolvePlaceholders('${role_offline-access}', {})).toBe('${role_offline-access}');
    expect(resolvePlaceholders('${EMPTY:}', {})).toBe('');
  });

  it('reads clients, users and roles from the export and the dev overlay', async () => {
    const realm = await loadRealm(
      join(keycloak, 'realm-isekai.json'),
      join(keycloak, 'realm-isekai.dev-overlay.json'),
    );
    expect(realm.name).toBe('isekai');
    expect(realm.clients.map((c) => c.clientId).sort()).toEqual([
      'isekai-dev-cli',
      'isekai-integrations',
      'isekai-site',
    ]);
    expect(realm.client('isekai-site')).toMatchObject({
      pkceMethod: 'S256',
      secret: process.env.KC_ISEKAI_SITE_SECRET ?? 'dev-only-isekai-site-secret',
      audiences: ['isekai-api'],
    });
    expect(realm.client('isekai-dev-cli')).toMatchObject({ publicClient: true, directAccessGrants: true });
    const viewer = realm.userByName('viewer1');
    expect(viewer?.realmRoles).toEqual(
      expect.arrayContaining(['default-roles-isekai', 'viewer', 'offline_access', 'uma_authorization']),
    );
    expect(viewer?.clientRoles.account).toEqual(['view-profile', 'manage-account']);
    expect(realm.userByName('viewer1@isekai.localhost')?.username).toBe('viewer1');
    expect(realm.serviceAccount('isekai-integrations')?.realmRoles).toEqual(['integrator']);
    expect(realm.userByName('service-account-isekai-integrations')).toBeUndefined();
  });

  it('without the overlay there are no dev users and no password client', async () => {
    const realm = await loadRealm(join(keycloak, 'realm-isekai.json'));
    expect(realm.client('isekai-dev-cli')).toBeUndefined();
    expect(realm.users.filter((u) => u.password)).toEqual([]);
  });
});
