import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { policyCovers, policyRules, vaultRoles } from './event-invariants.ts';
import { FUNCTIONS, JOBS } from './function-specs.ts';
import { REPO_ROOT } from './load.ts';

const DIR = join(REPO_ROOT, 'vault-policies');
const roles = vaultRoles();
const read = (file: string) => readFileSync(join(DIR, file), 'utf8');

describe('vault-policies: one least-privilege policy and one role per function', () => {
  expect(FUNCTIONS, 'functions').toHaveLength(14);
  expect(JOBS, 'jobs').toHaveLength(1);
  it.each([
    ...FUNCTIONS.map((f) => ['function', f.name, '1h'] as const),
    // A Job runs for minutes (activeDeadlineSeconds 900): its token need not outlive it.
    ...JOBS.map((j) => ['Job', j.name, '15m'] as const),
  ])(
    '%s %s has <name>.hcl and a role for ServiceAccount isekai/<name> (token ttl %s)',
    (_kind, name, ttl) => {
      expect(existsSync(join(DIR, `${name}.hcl`))).toBe(true);
      expect(roles.find((r) => r.role === name)).toEqual({
        role: name,
        serviceAccount: name,
        namespace: 'isekai',
        policy: name,
        policyFile: `${name}.hcl`,
        ttl,
      });
    },
  );

  expect(roles, 'vault roles').toHaveLength(20);
  it.each(roles.map((r) => [r.role, r] as const))(
    '%s: read-only, its own paths and named shared secrets only',
    (_n, role) => {
      const rules = policyRules(read(role.policyFile));
      expect(rules.length).toBeGreaterThan(0);
      // Functions read one KV v2 secret of their own (functions/lib/secrets.ts); the data workloads' Vault
      // agent renders files from their own folder.
      const own =
        role.namespace === 'isekai'
          ? `kv/data/isekai/${role.role}/config`
          : `kv/data/isekai-data/${role.role}/*`;
      for (const rule of rules) {
        expect(rule.capabilities).toEqual(['read']);
        expect(rule.path === own || /^kv\/data\/isekai\/shared\/[a-z0-9-]+$/.test(rule.path), rule.path).toBe(
          true,
        );
      }
      expect(rules.map((r) => r.path)).toContain(own);
    },
  );

  it.each([
    // The site's sessions (knative/base/600-redis-sessions.yaml): the URL is the site's alone, the server's
    // password its own alone; the site reads nothing of the cache Redis any more.
    ['kv/data/isekai/shared/redis-sessions', ['site']],
    ['kv/data/isekai-data/redis-sessions/config', ['redis-sessions']],
    ['kv/data/isekai/shared/redis', ['catalog', 'library', 'notifications', 'notify', 'rate-anime']],
  ])('%s is readable by exactly %j', (path, readers) => {
    const reading = roles
      .filter((r) => policyRules(read(r.policyFile)).some((rule) => policyCovers(rule.path, path)))
      .map((r) => r.role)
      .sort();
    expect(reading).toEqual(readers);
  });

  it('has no policy file without a role and no role without its file', () => {
    const files = [
      ...readdirSync(DIR).filter((f) => f.endsWith('.hcl')),
      ...readdirSync(join(DIR, 'data')).map((f) => `data/${f}`),
    ].sort();
    expect(roles.map((r) => r.policyFile).sort()).toEqual(files);
    expect(new Set(roles.map((r) => r.role)).size).toBe(roles.length);
  });

  it('every rule parsed: no path statement is left unread', () => {
    for (const role of roles) {
      const statements = read(role.policyFile).match(/^path\s/gm) ?? [];
      expect(policyRules(read(role.policyFile))).toHaveLength(statements.length);
    }
  });
});

describe('policyCovers follows Vault path globbing', () => {
  it.each([
    ['kv/data/isekai/catalog/*', 'kv/data/isekai/catalog/config', true],
    ['kv/data/isekai/catalog/config', 'kv/data/isekai/catalog/config', true],
    ['kv/data/isekai/catalog/config', 'kv/data/isekai/catalog/other', false],
    ['kv/data/isekai/catalog/*', 'kv/data/isekai/catalog-admin/config', false],
    ['kv/data/isekai/shared/redis', 'kv/data/isekai/shared/redis', true],
    ['kv/data/isekai/shared/redis', 'kv/data/isekai/shared/redis2', false],
    ['kv/data/+/catalog', 'kv/data/isekai/catalog', true],
    ['kv/data/+/catalog', 'kv/data/a/b/catalog', false],
  ])('%s covers %s: %s', (rule, path, expected) => expect(policyCovers(rule, path)).toBe(expected));
});
