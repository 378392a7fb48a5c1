/**
 * CPU per request of the runtime's hello (and, with `CATALOG=1`, of the cached catalog reads), A/B between
 * checkouts: `node bench/host-cpu.ts <rootA> <rootB> [<rootC>…]` (e.g. a copy of main made with
 * `git archive main | tar -x -C /tmp/main-copy` and a `node_modules` symlink, against this worktree);
 * `BENCH_SECONDS` per run (default 3), `BENCH_ROUNDS` (default 5).
 * Each root bundles its own `hello-runtime` fixture with its own `scripts/build.ts` options, as
 * `bench/host.ts` does; bare node:http (from A) is the floor. Servers are pinned to core 0, wrk (50
 * connections) to core 1; rounds rotate the order; each prints req/s and the server's CPU time (µs,
 * user + system from /proc/<pid>/stat, 10 ms ticks) per request over a fixed run — on a shared machine
 * req/s swings with the neighbours' load, CPU per request much less. `NODE_ARGS='--cpu-prof
 * --cpu-prof-dir=/tmp/prof'` passes flags to the A/B servers (profiles are written when they stop).
 * `CATALOG=1` adds the catalog function from each root (a throwaway database and the machine's Redis, as
 * `bench/catalog.ts`), detail and search, both cached. Needs wrk and taskset.
 */
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { median, runWrk, type Started, startServer, type WrkResult } from './lib.ts';
import { createFixture, type Fixture } from './tracking-fixture.ts';

const roots = process.argv.slice(2);
const [rootA = '', rootB = ''] = roots;
if (!rootA || !rootB) {
  process.stderr.write('usage: node bench/host-cpu.ts <rootA> <rootB> [<rootC>…]\n');
  process.exit(64);
}
const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
/** A, B, C… for the roots in the order given. */
const named = roots.map((root, i) => [String.fromCharCode(65 + i), root] as const);
const nodeArgs = (process.env.NODE_ARGS ?? '').split(' ').filter(Boolean);
const out = join(new URL('..', import.meta.url).pathname, 'dist/bench/host-cpu');
await mkdir(out, { recursive: true });

/**
 * Bundle `hello-runtime` from `root` as that root's functions are: with its `bundleServer` (a start file and
 * the bundle as a script, scripts/code-cache.ts) where it has one, else one ES module with its BUNDLE_OPTIONS.
 */
async function bundle(root: string, name: string): Promise<string> {
  const { BUNDLE_OPTIONS, bundleServer } = (await import(join(root, 'scripts/build.ts'))) as {
    BUNDLE_OPTIONS: Parameters<typeof build>[0];
    bundleServer?: (outdir: string, source: Pick<BuildOptions, 'stdin'>) => Promise<{ file: string }>;
  };
  const stdin = {
    contents: `import './bench/fixtures/hello.ts'; import { runHost } from './functions/lib/host/run.ts'; await runHost({ target: 'hello-runtime', port: Number(process.env.PORT), host: '127.0.0.1' });`,
    resolveDir: root,
    loader: 'ts' as const,
  };
  if (bundleServer) return (await bundleServer(join(out, name), { stdin })).file;
  const outfile = join(out, `${name}.mjs`);
  await build({ ...BUNDLE_OPTIONS, stdin, outfile });
  return outfile;
}

/** CPU clock ticks (10 ms) a process has used. */
function ticks(pid: number | undefined): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

function wrk(url: string, secs: number): Promise<WrkResult> {
  return runWrk(['-t1', '-c50', `-d${secs}s`, url]);
}

const node = process.execPath;
const targets: { name: string; server: Started; path: string }[] = [];
let fixture: Fixture | undefined;
try {
  const bare = await startServer([node, join(rootA, 'bench/fixtures/bare.ts')], {}, { cpu: 0 });
  targets.push({ name: 'bare', server: bare, path: '/' });
  for (const [name, root] of named) {
    const file = await bundle(root, `hello-runtime-${name}`);
    targets.push({
      name: `${name} hello`,
      server: await startServer([node, ...nodeArgs, file], {}, { cpu: 0 }),
      path: '/',
    });
  }
  if (process.env.CATALOG === '1') {
    fixture = await createFixture();
    for (const [name, root] of named) {
      const command = [
        node,
        ...nodeArgs,
        join(root, 'functions/lib/host/main.ts'),
        '--source',
        join(root, 'functions/catalog/index.ts'),
        '--target',
        'catalog',
      ];
      const server = await startServer(command, fixture.env, { cpu: 0, readyPath: '/healthz' });
      targets.push({ name: `${name} detail`, server, path: '/anime/1' });
      targets.push({ name: `${name} search`, server, path: '/anime?q=cowboy%20bebop&perPage=20' });
    }
  }
  for (const t of targets) await wrk(t.server.url + t.path, 1); // warm-up (fills the caches)
  const rows: Record<string, number[][]> = {};
  for (let round = 0; round < rounds; round++) {
    const shift = round % targets.length;
    for (const { name, server, path } of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      const before = ticks(server.child.pid);
      const r = await wrk(server.url + path, seconds);
      const us = ((ticks(server.child.pid) - before) * 10_000) / r.requests;
      rows[name] = [...(rows[name] ?? []), [r.rps, us]];
      process.stdout.write(
        `round ${round + 1} ${name.padEnd(9)} ${r.rps.toFixed(0).padStart(7)} req/s ${us.toFixed(1).padStart(6)} µs/request  load ${loadavg()[0]?.toFixed(2)}\n`,
      );
    }
  }
  process.stdout.write('\nmedians: req/s, µs of CPU per request\n');
  for (const [name, values] of Object.entries(rows))
    process.stdout.write(
      `  ${name.padEnd(9)} ${median(values.map((v) => v[0] ?? Number.NaN))
        .toFixed(0)
        .padStart(7)} ${median(values.map((v) => v[1] ?? Number.NaN))
        .toFixed(1)
        .padStart(6)}\n`,
    );
  process.stdout.write(
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}\n`,
  );
} finally {
  for (const t of new Set(targets.map((x) => x.server))) await t.stop();
  await fixture?.close();
}
process.exit(0);
