import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './manifests/load.ts';

/** Runs the schema-migrate CLI as the Job would, with exactly `env` (no Vault: settings from env). */
function runCli(env: Record<string, string>) {
  const r = spawnSync(process.execPath, [join(REPO_ROOT, 'scripts/migrate.ts')], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  const lines = r.stderr.trim().split('\n').filter(Boolean);
  return {
    status: r.status,
    stdout: r.stdout,
    lines: lines.map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

// The success path (every migration applied to a real PostgreSQL) is what the integration harness's
// migrate() does; here only the failures, which need no database.
describe('scripts/migrate.ts (schema-migrate CLI)', () => {
  it('exits 78 with one config_invalid line naming DATABASE_URL when it is missing', () => {
    const r = runCli({});
    expect(r.status).toBe(78);
    expect(r.stdout).toBe('');
    expect(r.lines).toEqual([
      expect.objectContaining({
        level: 'fatal',
        code: 'config_invalid',
        issues: [{ field: 'DATABASE_URL', message: 'is required' }],
      }),
    ]);
  });

  it('exits 1 with one line carrying the cause when the database cannot be reached', () => {
    // Port 1 on loopback: refused at once, no network involved.
    const r = runCli({ DATABASE_URL: 'postgres://nobody:secret-pw@127.0.0.1:1/none' });
    expect(r.status).toBe(1);
    expect(r.lines).toEqual([
      expect.objectContaining({ level: 'fatal', code: 'internal', cause: 'ECONNREFUSED' }),
    ]);
    expect(JSON.stringify(r.lines)).not.toContain('secret-pw');
  });
});
