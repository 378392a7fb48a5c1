/**
 * Cold start A/B between two checkouts: `node bench/cold-cpu.ts <rootA> <rootB> [starts=15]` (e.g. a copy
 * of main made with `git archive main | tar -x -C /tmp/main-copy` and a `node_modules` symlink, against
 * this worktree). Each root bundles the bench's hello-runtime (bench/fixtures/hello.ts on the lean host)
 * with its own scripts/build.ts options and code; each bundle gets its own V8 compile cache made by one
 * start stopped at its configuration check, as the images have (`CACHE=0`: none). Starts alternate bare
 * node:http, A and B (order reversed every other round), each pinned to core 0 like `npm run bench host`;
 * prints per variant the median CPU time to the first 200 (schedstat, ns), wall time and RSS with their
 * interquartile ranges, and B/A as the median of per-round ratios with how many rounds B was cheaper.
 */
import { mkdir, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { makeCompileCache, median, quantile, startServer } from './lib.ts';

const [argA = '', argB = '', startsArg = '15'] = process.argv.slice(2);
if (!argA || !argB) {
  process.stderr.write('usage: node bench/cold-cpu.ts <rootA> <rootB> [starts]\n');
  process.exit(64);
}
const [rootA, rootB] = [resolve(argA), resolve(argB)];
const starts = Number(startsArg);
const useCache = process.env.CACHE !== '0';
const out = join(tmpdir(), `cold-cpu-${process.pid}`);

/**
 * hello-runtime bundled from `root` as that root's functions are (as bench/host.ts does): with its
 * `bundleServer` (a start file and the bundle as a script, scripts/code-cache.ts) where it has one, else one
 * ES module with its BUNDLE_OPTIONS. Returns the file to start.
 */
async function bundleHello(root: string, dir: string): Promise<string> {
  const { BUNDLE_OPTIONS, bundleServer } = (await import(join(root, 'scripts/build.ts'))) as {
    BUNDLE_OPTIONS: BuildOptions;
    bundleServer?: (outdir: string, source: Pick<BuildOptions, 'stdin'>) => Promise<{ file: string }>;
  };
  const stdin = {
    contents: `import './bench/fixtures/hello.ts'; import { runHost } from './functions/lib/host/run.ts'; await runHost({ target: 'hello-runtime', port: Number(process.env.PORT), host: '127.0.0.1' });`,
    resolveDir: root,
    loader: 'ts' as const,
  };
  if (bundleServer) return (await bundleServer(dir, { stdin })).file;
  const file = join(dir, 'hello-runtime.mjs');
  await build({ ...BUNDLE_OPTIONS, stdin, outfile: file });
  return file;
}

await mkdir(out, { recursive: true });
const { BUNDLE_OPTIONS } = (await import(join(rootA, 'scripts/build.ts'))) as {
  BUNDLE_OPTIONS: BuildOptions;
};
const bare = join(out, 'bare.mjs');
await build({
  ...BUNDLE_OPTIONS,
  plugins: [],
  entryPoints: [join(rootA, 'bench/fixtures/bare.ts')],
  outfile: bare,
});
const variants: { name: string; command: string[]; env: Record<string, string> }[] = [
  { name: 'bare node:http', command: [process.execPath, bare], env: {} },
];
for (const [name, root] of [
  ['A', rootA],
  ['B', rootB],
] as const) {
  const file = await bundleHello(root, join(out, name));
  const env: Record<string, string> = useCache
    ? { NODE_COMPILE_CACHE: join(out, name, 'compile-cache') }
    : {};
  if (env.NODE_COMPILE_CACHE) await makeCompileCache([process.execPath, file], env.NODE_COMPILE_CACHE);
  variants.push({ name, command: [process.execPath, file], env });
}

const runs = new Map(
  variants.map((v) => [v.name, { cpu: [] as number[], ms: [] as number[], rss: [] as number[] }]),
);
process.stdout.write(
  `load average at start: ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}\n`,
);
for (let i = 0; i < starts; i++) {
  for (const v of i % 2 === 0 ? variants : [...variants].reverse()) {
    const server = await startServer(v.command, v.env, { cpu: 0 });
    const r = runs.get(v.name);
    r?.cpu.push(server.cpuMs);
    r?.ms.push(server.startMs);
    r?.rss.push(server.rssKiB);
    await server.stop();
  }
}
const f = (n: number) => n.toFixed(1);
for (const [name, r] of runs) {
  process.stdout.write(
    `${name.padEnd(16)} CPU ${f(median(r.cpu))} ms [${f(quantile(r.cpu, 0.25))}–${f(quantile(r.cpu, 0.75))}]  wall ${f(median(r.ms))} ms [${f(quantile(r.ms, 0.25))}–${f(quantile(r.ms, 0.75))}]  RSS ${f(median(r.rss) / 1024)} MiB\n`,
  );
}
const a = runs.get('A');
const b = runs.get('B');
if (a && b) {
  const cpu = b.cpu.map((x, i) => x / (a.cpu[i] ?? Number.NaN));
  const ms = b.ms.map((x, i) => x / (a.ms[i] ?? Number.NaN));
  process.stdout.write(
    `B/A per round: CPU ${median(cpu).toFixed(3)} (B cheaper in ${cpu.filter((x) => x < 1).length} of ${cpu.length}), wall ${median(ms).toFixed(3)}; RSS ${f((median(b.rss) - median(a.rss)) / 1024)} MiB\n`,
  );
}
process.stdout.write(
  `load average at end: ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}\n`,
);
await rm(out, { recursive: true, force: true });
