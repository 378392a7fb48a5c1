import { spawn } from 'node:child_process';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleServer } from './build.ts';
import { freePort } from './servers/harness.ts';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist', `code-cache-test-${process.pid}`);
const cacheDir = join(out, 'cache');

// A server as a function's bundle is one: a top-level await, import.meta.url, settings read at start.
const ENTRY = `
import { createServer } from 'node:http';
const greeting = await Promise.resolve(process.env.GREETING);
const here = import.meta.url;
createServer((_req, res) => res.end(JSON.stringify({ greeting, here, pid: process.pid })))
  .listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
`;

/** Start the bundle, read its answer and what its start file said about the cache, stop it (an exit). */
async function startOnce(file: string, greeting: string) {
  const port = await freePort();
  const child = spawn(process.execPath, [file], {
    env: {
      ...process.env,
      PORT: String(port),
      GREETING: greeting,
      NODE_COMPILE_CACHE: cacheDir,
      NODE_DEBUG: 'isekai',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let said = '';
  child.stderr.on('data', (chunk: Buffer) => {
    said += chunk.toString();
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const res = await fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
      if (res) return { answer: (await res.json()) as { greeting: string; here: string; pid: number }, said };
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no answer: ${said}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

describe('bundleServer (scripts/code-cache.ts)', () => {
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('starts the bundle from the code cache a former start wrote, reading its settings at each start', async () => {
    const { file } = await bundleServer(out, { stdin: { contents: ENTRY, resolveDir: root, loader: 'js' } });
    const app = join(out, 'app.js');
    expect(await readFile(app, 'utf8')).toMatch(/^\(async function \(require, /);

    const first = await startOnce(file, 'first');
    expect(first.answer).toMatchObject({ greeting: 'first', here: `file://${app}` });
    const written = await readdir(join(cacheDir, 'isekai'));
    expect(written).toHaveLength(1);

    // A new process, other settings: the cache holds compiled code only, no state of the start that made it.
    const second = await startOnce(file, 'second');
    expect(second.answer).toMatchObject({ greeting: 'second', here: `file://${app}` });
    expect(second.answer.pid).not.toBe(first.answer.pid);
    expect(second.said).toContain(`V8 code cache for ${app} was accepted`);
  });
});
