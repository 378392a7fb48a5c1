import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const main = fileURLToPath(new URL('./main.ts', import.meta.url));
const edgeAuth = fileURLToPath(new URL('../../edge-auth/index.ts', import.meta.url));

/** Start a function process and collect what it prints until it exits (or 10 s pass). */
function runProcess(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [main, '--source', edgeAuth, '--target', 'edge-auth', '--port', '0'],
      {
        env: { PATH: process.env.PATH ?? '', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('start-up with bad configuration', () => {
  it.each([
    ['a missing setting', {}, 'OIDC_ISSUER'],
    [
      'a malformed setting',
      { OIDC_ISSUER: 'http://127.0.0.1:1/realms/isekai', LOG_LEVEL: 'chatty' },
      'LOG_LEVEL',
    ],
    [
      'a malformed number',
      { OIDC_ISSUER: 'http://127.0.0.1:1/realms/isekai', EDGE_AUTH_CACHE_SECONDS: 'lots' },
      'EDGE_AUTH_CACHE_SECONDS',
    ],
  ])('exits non-zero at once, naming %s', async (_name, env, setting) => {
    const { code, stderr } = await runProcess(env);
    expect(code).toBe(78);
    const line = JSON.parse(stderr.trim().split('\n').at(-1) ?? '{}');
    expect(line).toMatchObject({ level: 'fatal', code: 'config_invalid' });
    expect(line.issues.map((i: { field: string }) => i.field)).toContain(setting);
  });
});
