/**
 * User-space instructions per request of the nginx edge, under valgrind's callgrind — independent of the
 * machine's load, unlike CPU time: `node bench/edge-instructions.ts <root>… [--seconds=5,15]`.
 *
 * Each root's nginx/ renders the bench edge (as bench/edge-cpu.ts: the echo upstream and the real edge-auth
 * from the first root, limits out of reach, access log buffered 64k); the rendered nginx is stopped and the
 * same nginx.conf is run again as one process (`master_process off`) under callgrind. After a warm-up the
 * counters are zeroed, then per kind (anonymous, authenticated with the auth cache warm) two wrk windows
 * (4 connections, core 1) are dumped apart: (Ir₂ − Ir₁) / (n₂ − n₁) cancels what does not grow with
 * requests (the TLS handshakes of each window's connections). Prints one line per root and kind:
 * instructions per request (k). `KEEP=1` keeps the callgrind files (in <root>/.tmp/callgrind-*) for
 * `callgrind_annotate --inclusive=yes`. Kernel time is not counted. Needs valgrind, wrk, taskset and
 * `api.isekai.localhost` in /etc/hosts.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { TestEdge, TestEdgeOptions } from '../scripts/servers/nginx.ts';
import { API_HOST, startEdgeUpstreams, UNLIMITED } from './edge-setup.ts';
import { freePort, runWrk } from './lib.ts';

const args = process.argv.slice(2);
const variants = args.filter((a) => !a.startsWith('--')).map((a) => a.split('+') as [string, string?]);
const roots = variants.map(([root]) => root);
const [firstSecs, secondSecs] = (args.find((a) => a.startsWith('--seconds='))?.slice(10) ?? '5,15')
  .split(',')
  .map(Number);
if (roots.length === 0) {
  process.stderr.write('usage: node bench/edge-instructions.ts <root>… [--seconds=5,15]\n');
  process.exit(64);
}

type StartTestEdge = (id: string, options: TestEdgeOptions) => Promise<TestEdge>;

/** The `totals:` (or `summary:`) instruction count of one callgrind dump. */
function totalIr(file: string): number {
  const m = /^(?:totals|summary):\s+(\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

/**
 * Dump the counters of callgrind process `pid` (this also zeroes them) once it is idle; resolves with the
 * new dump's path.
 */
async function dump(pid: number, dir: string): Promise<string> {
  // nginx under valgrind is slow: let it finish the closed connections' work (TLS shutdown, frees: ≈ 3 M
  // instructions each) first, so every window holds the same fixed costs.
  await new Promise((r) => setTimeout(r, 2_000));
  const before = new Set(readdirSync(dir));
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const added = readdirSync(dir).filter((f) => !before.has(f) && /\.\d+$/.test(f));
  if (added.length !== 1) throw new Error(`callgrind dump: expected one new file in ${dir}, got ${added}`);
  return join(dir, added[0] ?? '');
}

const up = await startEdgeUpstreams(roots[0] ?? '');
try {
  for (const [i, [root, sed]] of variants.entries()) {
    const { startTestEdge } = (await import(join(root, 'scripts/servers/nginx.ts'))) as {
      startTestEdge: StartTestEdge;
    };
    const edge = await startTestEdge(`instr-${i}`, {
      functions: { 'edge-auth': up.port(up.edgeAuth) },
      defaultPort: up.port(up.echo),
      keycloakUrl: up.jwksUrl,
      https: await freePort(),
      http: await freePort(),
      overrides: { limits: UNLIMITED, traceSamplePercent: 0, accessLogBuffer: '64k' },
    });
    await edge.stop();
    if (sed) execFileSync('sed', ['-i', '-f', sed, join(edge.prefix, 'nginx.conf')]);
    execFileSync('nginx', ['-t', '-q', '-p', edge.prefix, '-c', join(edge.prefix, 'nginx.conf')]);
    const dir = join(root, '.tmp', `callgrind-${i}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const child = spawn(
      'taskset',
      [
        '-c',
        '0',
        'valgrind',
        '--tool=callgrind',
        `--callgrind-out-file=${join(dir, 'cg.out')}`,
        'nginx',
        '-p',
        edge.prefix,
        '-c',
        join(edge.prefix, 'nginx.conf'),
        '-g',
        'daemon off; master_process off;',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const url = `https://${API_HOST}:${edge.port}/anime/1`;
    for (let t = 0; ; t++) {
      if (child.exitCode !== null) throw new Error(`nginx under valgrind exited: ${stderr}`);
      const ok = await fetch(`http://127.0.0.1:${edge.httpPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (t > 600) throw new Error(`nginx under valgrind did not start: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const kinds: [string, string[]][] = [
      ['anonymous', [`Host: ${API_HOST}`]],
      ['authenticated', [`Host: ${API_HOST}`, `Authorization: Bearer ${up.token}`]],
    ];
    const wrk = (headers: string[], secs: number) =>
      runWrk(['-t1', '-c4', `-d${secs}s`, ...headers.flatMap((h) => ['-H', h]), url]);
    for (const [, h] of kinds) await wrk(h, 2); // warm-up: TLS, auth cache, upstream connections
    const pid = child.pid ?? 0;
    await dump(pid, dir); // zero
    for (const [kind, h] of kinds) {
      const a = await wrk(h, firstSecs ?? 5);
      const irA = totalIr(await dump(pid, dir));
      const b = await wrk(h, secondSecs ?? 15);
      const irB = totalIr(await dump(pid, dir));
      const perRequest = (irB - irA) / (b.requests - a.requests);
      process.stdout.write(
        `${root}${sed ? `+${sed}` : ''} ${kind.padEnd(13)} ${(perRequest / 1000).toFixed(1).padStart(7)} k instructions/request  (${a.requests} → ${b.requests} requests)\n`,
      );
    }
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await up.stop();
}
process.exit(0);
