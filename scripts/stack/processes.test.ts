import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { likelyCause, StartFailure, startProcess, waitHealthy } from './processes.ts';

describe('npm start: a function that does not become healthy is named with its log and a likely cause', () => {
  it('a process that exits: StartFailure with its name, exit code and last lines', async () => {
    const proc = startProcess(
      'broken-fn',
      [
        process.execPath,
        '-e',
        'console.log("line one"); console.error(JSON.stringify({code:"config_invalid",setting:"DATABASE_URL"})); process.exit(78)',
      ],
      {},
      0,
    );
    const failure = await waitHealthy('http://127.0.0.1:9/healthz', proc, 10_000).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(StartFailure);
    const f = failure as StartFailure;
    expect(f.functionName).toBe('broken-fn');
    expect(f.reason).toBe('exited with code 78');
    expect(f.logTail).toContain('line one');
    expect(f.describe()).toMatch(/DATABASE_URL[\s\S]*Likely cause: a bad or missing setting/);
  });

  it('a process that never answers 2xx: StartFailure at the deadline, and the process is still ours to stop', async () => {
    const server = createServer((_req, res) => res.writeHead(503).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const proc = startProcess(
      'slow-fn',
      [process.execPath, '-e', 'console.log("warming up"); setInterval(() => {}, 1000)'],
      {},
      1,
    );
    try {
      const failure = await waitHealthy(`http://127.0.0.1:${port}/healthz`, proc, 600).catch(
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(StartFailure);
      expect((failure as StartFailure).reason).toMatch(
        /did not become healthy in 1 s \(ISEKAI_START_TIMEOUT_S\)/,
      );
      expect((failure as StartFailure).describe()).toMatch(/warming up[\s\S]*ISEKAI_START_TIMEOUT_S=300/);
    } finally {
      await proc.stop();
      server.close();
    }
    expect(proc.child.exitCode !== null || proc.child.signalCode !== null).toBe(true);
  });

  it.each([
    ['Error: listen EADDRINUSE: address already in use 127.0.0.1:8102', /port is taken/],
    ['connect ECONNREFUSED 127.0.0.1:5432', /service it needs does not answer/],
    ["Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'pg'", /npm ci/],
  ])('likely cause of %s', (line, cause) => {
    expect(likelyCause('exited with code 1', [line])).toMatch(cause);
  });
});
