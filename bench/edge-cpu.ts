/**
 * CPU per request of the edge, A/B between two checkouts: `node bench/edge-cpu.ts <rootA> <rootB>
 * [seconds=3] [rounds=3]` (e.g. a copy of main made with `git archive main | tar -x -C /tmp/main-copy`
 * and a `node_modules` symlink, against this worktree). Each root's nginx/ renders and serves its own edge
 * (edge.conf.template, render.ts, edge.js); the echo upstream and edge-auth are shared (from A). Rounds
 * alternate the variants; each prints req/s and the CPU time (µs, user + system from /proc/<pid>/stat,
 * 10 ms ticks) the nginx worker, echo and edge-auth spent per request over a fixed wrk run — on a shared
 * machine req/s swings with the neighbours' load, CPU per request much less. `ONLY=anon|auth` runs one
 * kind; `HOLD=1` keeps everything up afterwards (for `perf record -p` / `strace -c -p` on a worker) until
 * SIGTERM. Needs wrk, taskset and `api.isekai.localhost` in /etc/hosts.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import type { TestEdge, TestEdgeOptions } from '../scripts/servers/nginx.ts';
import { API_HOST, startEdgeUpstreams, UNLIMITED } from './edge-setup.ts';
import { freePort, median, runWrk, type WrkResult } from './lib.ts';

const [rootA = '', rootB = '', secondsArg = '3', roundsArg = '3'] = process.argv.slice(2);
if (!rootA || !rootB) {
  process.stderr.write('usage: node bench/edge-cpu.ts <rootA> <rootB> [seconds] [rounds]\n');
  process.exit(64);
}
const seconds = Number(secondsArg);
const rounds = Number(roundsArg);
const only = process.env.ONLY;

const up = await startEdgeUpstreams(rootA);
const { token, jwksUrl, echo, edgeAuth } = up;
type StartTestEdge = (id: string, options: TestEdgeOptions) => Promise<TestEdge>;
const edges: { name: string; edge: TestEdge }[] = [];
for (const [name, root] of [
  ['A', rootA],
  ['B', rootB],
] as const) {
  const { startTestEdge } = (await import(join(root, 'scripts/servers/nginx.ts'))) as {
    startTestEdge: StartTestEdge;
  };
  const edge = await startTestEdge(`cpu-${name}`, {
    functions: { 'edge-auth': up.port(edgeAuth) },
    defaultPort: up.port(echo),
    keycloakUrl: jwksUrl,
    https: await freePort(),
    http: await freePort(),
    overrides: { limits: UNLIMITED, traceSamplePercent: 0, accessLogBuffer: '64k' },
    cpu: 0,
  });
  edges.push({ name, edge });
}

/** CPU clock ticks (10 ms) a process has used; NaN once it has exited (nginx's cache loader does). */
function ticks(pid: number | undefined): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return Number.NaN;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
/** Ticks the processes spent between two samples of each, leaving out any that exited meanwhile. */
const spent = (before: number[], after: number[]) =>
  after.reduce(
    (sum, t, i) => (Number.isNaN(t - (before[i] ?? Number.NaN)) ? sum : sum + t - (before[i] ?? 0)),
    0,
  );
/** nginx's worker (and cache) processes under a master. */
const children = (master: number | undefined) =>
  execFileSync('pgrep', ['-P', String(master)])
    .toString()
    .trim()
    .split('\n')
    .map(Number);

function wrk(url: string, headers: string[], secs: number): Promise<WrkResult> {
  return runWrk(['-t1', '-c16', `-d${secs}s`, ...headers.flatMap((h) => ['-H', h]), url]);
}

const kinds: [string, string[]][] = [
  ['anon', [`Host: ${API_HOST}`]],
  ['auth', [`Host: ${API_HOST}`, `Authorization: Bearer ${token}`]],
].filter(([kind]) => !only || kind === only) as [string, string[]][];
const path = '/anime/1';
const edgeUrl = (edge: TestEdge) => `https://${API_HOST}:${edge.port}${path}`;
try {
  for (const { edge } of edges) for (const [, h] of kinds) await wrk(edgeUrl(edge), h, 1); // warm-up
  const rows: Record<string, number[][]> = {};
  const add = (name: string, row: number[]) => {
    rows[name] = [...(rows[name] ?? []), row];
  };
  for (let round = 0; round < rounds; round++) {
    const before = ticks(echo.child.pid);
    const bare = await wrk(`${echo.url}${path}`, [], seconds);
    const bareUs = ((ticks(echo.child.pid) - before) * 10_000) / bare.requests;
    add('bare', [bare.rps, bareUs, 0, 0]);
    for (const { name, edge } of round % 2 ? [...edges].reverse() : edges) {
      for (const [kind, h] of kinds) {
        const nginxPids = children(edge.child.pid);
        const sample = (): number[] => [...nginxPids, echo.child.pid, edgeAuth.child.pid].map(ticks);
        const start = sample();
        const r = await wrk(edgeUrl(edge), h, seconds);
        const end = sample();
        const n = nginxPids.length;
        const us = [
          spent(start.slice(0, n), end.slice(0, n)),
          spent(start.slice(n, n + 1), end.slice(n, n + 1)),
          spent(start.slice(n + 1), end.slice(n + 1)),
        ].map((t) => (t * 10_000) / r.requests);
        add(`${name} ${kind}`, [r.rps, ...us]);
        process.stdout.write(
          `round ${round + 1} ${name} ${kind.padEnd(4)} ${r.rps.toFixed(0).padStart(6)} req/s  nginx ${us[0]?.toFixed(1)} µs  echo ${us[1]?.toFixed(1)} µs  edge-auth ${us[2]?.toFixed(1)} µs  (echo alone ${bare.rps.toFixed(0)} req/s, ${bareUs.toFixed(1)} µs)\n`,
        );
      }
    }
  }
  process.stdout.write('\nmedians: req/s, then µs per request of nginx, echo, edge-auth\n');
  for (const [name, values] of Object.entries(rows))
    process.stdout.write(
      `  ${name.padEnd(8)} ${[0, 1, 2, 3]
        .map((i) =>
          median(values.map((v) => v[i] ?? Number.NaN))
            .toFixed(1)
            .padStart(8),
        )
        .join(' ')}\n`,
    );
  process.stdout.write(
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}\n`,
  );
  if (process.env.HOLD) {
    mkdirSync(join(rootB, '.tmp'), { recursive: true });
    writeFileSync(join(rootB, '.tmp', 'edge-cpu-token'), token);
    process.stdout.write(
      `holding (SIGTERM ends): ${JSON.stringify(edges.map((e) => ({ name: e.name, port: e.edge.port, master: e.edge.child.pid })))}; token in ${join(rootB, '.tmp', 'edge-cpu-token')}\n`,
    );
    await new Promise((r) => process.once('SIGTERM', r));
  }
} finally {
  for (const { edge } of edges) await edge.stop();
  await up.stop();
}
process.exit(0);
