/**
 * Function host benchmark (issue 6): a registered hello-world function on functions-framework and on the
 * lean host, against a bare node:http server measured in the same run; plus cold start and RSS.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { frameworkFile } from '../functions/lib/host/framework-files.ts';
import { BUNDLE_OPTIONS, bundleServer } from '../scripts/build.ts';
import { type LoadResult, load, makeCompileCache, median, quantile, startServer } from './lib.ts';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/bench');

/** Bundle the fixtures the way production bundles functions (one ESM file each). */
async function bundleFixtures(): Promise<Record<string, string>> {
  await mkdir(out, { recursive: true });
  const common = BUNDLE_OPTIONS;
  // The floor as a bare server is written and run (`import { createServer } from 'node:http'`, an ESM
  // import of the built-in); and the same file bundled as the functions are, built-ins by require() (see
  // requireBuiltins in scripts/build.ts: that skips loading undici, half of this floor's start-up).
  await build({
    ...common,
    plugins: [],
    entryPoints: [join(root, 'bench/fixtures/bare.ts')],
    outfile: join(out, 'bare.mjs'),
  });
  await build({
    ...common,
    entryPoints: [join(root, 'bench/fixtures/bare.ts')],
    outfile: join(out, 'bare-require.mjs'),
  });
  // The lean host as a function's image starts it: index.mjs compiles app.js with its own V8 code cache.
  for (const target of ['hello', 'hello-runtime']) {
    await bundleServer(join(out, target), {
      stdin: {
        contents: `import './bench/fixtures/hello.ts'; import { runHost } from './functions/lib/host/run.ts'; await runHost({ target: '${target}', port: Number(process.env.PORT), host: '127.0.0.1' });`,
        resolveDir: root,
        loader: 'ts',
      },
    });
  }
  return {
    bare: join(out, 'bare.mjs'),
    'bare-require': join(out, 'bare-require.mjs'),
    hello: join(out, 'hello/index.mjs'),
    'hello-runtime': join(out, 'hello-runtime/index.mjs'),
  };
}

/** One cold-start variant over its interleaved starts. */
export interface ColdStart {
  /** Median wall time, spawn → first 200 (ms), and every start's, in order. */
  medianMs: number;
  runs: number[];
  /** Median RSS right after the first 200 (KiB). */
  rssKiB: number;
  /** Median CPU time to the first 200 (ms, schedstat: ns resolution) and every start's. */
  cpuMs: number;
  cpuRuns: number[];
  /** Interquartile range of the CPU times and of the wall times (ms): the spread of the medians above. */
  cpuIqr: [number, number];
  msIqr: [number, number];
  /** Median over rounds of this start / the bare node:http start of the same round (wall, CPU). */
  perRound: { wall: number; cpu: number };
}

export interface HostBenchResult {
  throughput: Record<string, LoadResult[]>;
  ratios: Record<string, number>;
  coldStart: Record<string, ColdStart>;
}

export async function benchHost(options: {
  seconds: number;
  rounds: number;
  coldRuns: number;
}): Promise<HostBenchResult> {
  const files = await bundleFixtures();
  const ff = frameworkFile('main.js');
  const variants: Record<string, string[]> = {
    'bare node:http': [process.execPath, files.bare ?? ''],
    'functions-framework (hello)': [
      process.execPath,
      ff,
      `--source=${join(root, 'bench/fixtures/hello.ts')}`,
      '--target=hello',
    ],
    'lean host (hello)': [process.execPath, files.hello ?? ''],
    'lean host (hello-runtime)': [process.execPath, files['hello-runtime'] ?? ''],
  };
  const throughput: Record<string, LoadResult[]> = {};
  const servers = [];
  for (const [name, command] of Object.entries(variants)) {
    const server = await startServer(command, {}, { cpu: 0 });
    servers.push({ name, server });
    throughput[name] = [];
    await load(server.url, { seconds: 1, connections: 50, cpu: 1 }); // warm-up
  }
  try {
    for (let round = 0; round < options.rounds; round++) {
      const order = round % 2 === 0 ? servers : [...servers].reverse(); // alternate A/B order
      for (const { name, server } of order) {
        const result = await load(server.url, { seconds: options.seconds, connections: 50, cpu: 1 });
        throughput[name]?.push(result);
        process.stdout.write(
          `  ${name.padEnd(30)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms} ms\n`,
        );
      }
    }
  } finally {
    await Promise.all(servers.map(({ server }) => server.stop()));
  }
  // The machine is a shared VM whose speed drifts between rounds: compare each variant with the bare
  // server measured in the same round, then take the median of those per-round ratios.
  const bareRuns = throughput['bare node:http'] ?? [];
  const ratioOf = (name: string) =>
    median(
      (throughput[name] ?? []).map(
        (r, round) => r.requestsPerSec / (bareRuns[round]?.requestsPerSec ?? Number.NaN),
      ),
    );
  const ratios = Object.fromEntries(Object.keys(variants).map((name) => [name, ratioOf(name)]));

  const coldStart: HostBenchResult['coldStart'] = {};
  // As the image starts it (Containerfile): with the code cache made as scripts/images.sh makes it, by a
  // start that stops at its configuration check.
  const compileCache = join(out, 'compile-cache');
  await rm(compileCache, { recursive: true, force: true });
  await makeCompileCache([process.execPath, files['hello-runtime'] ?? ''], compileCache);
  const cold: Record<string, { command: string[]; env?: Record<string, string> }> = {
    'bare node:http': { command: [process.execPath, files.bare ?? ''] },
    'bare node:http (built-ins by require)': { command: [process.execPath, files['bare-require'] ?? ''] },
    'lean host (hello-runtime)': { command: [process.execPath, files['hello-runtime'] ?? ''] },
    'lean host (hello-runtime, compile cache)': {
      command: [process.execPath, files['hello-runtime'] ?? ''],
      env: { NODE_COMPILE_CACHE: compileCache },
    },
    'functions-framework (hello)': { command: variants['functions-framework (hello)'] ?? [] },
  };
  // Rounds alternate the variants and their order (the machine's speed drifts); CPU time to the first 200
  // is reported beside the wall time: on a loaded machine it is the steadier of the two. Each start is also
  // divided by the bare start of its round, and the median of those ratios kept.
  const runs: Record<string, { ms: number[]; cpu: number[]; rss: number[] }> = {};
  const names = Object.keys(cold);
  for (let i = 0; i < options.coldRuns; i++) {
    for (const name of i % 2 === 0 ? names : [...names].reverse()) {
      const { command, env } = cold[name] ?? { command: [] };
      const server = await startServer(command, env ?? {}, { cpu: 0 });
      const r = runs[name] ?? { ms: [], cpu: [], rss: [] };
      runs[name] = r;
      r.ms.push(server.startMs);
      r.cpu.push(server.cpuMs);
      r.rss.push(server.rssKiB);
      await server.stop();
    }
  }
  const bare = runs['bare node:http'] ?? { ms: [], cpu: [], rss: [] };
  const round = (ms: number) => Math.round(ms * 10) / 10;
  for (const [name, r] of Object.entries(runs)) {
    coldStart[name] = {
      medianMs: median(r.ms),
      runs: r.ms.map(round),
      rssKiB: median(r.rss),
      cpuMs: round(median(r.cpu)),
      cpuRuns: r.cpu.map(round),
      cpuIqr: [round(quantile(r.cpu, 0.25)), round(quantile(r.cpu, 0.75))],
      msIqr: [round(quantile(r.ms, 0.25)), round(quantile(r.ms, 0.75))],
      perRound: {
        wall: median(r.ms.map((ms, i) => ms / (bare.ms[i] ?? Number.NaN))),
        cpu: median(r.cpu.map((cpu, i) => cpu / (bare.cpu[i] ?? Number.NaN))),
      },
    };
  }
  return { throughput, ratios, coldStart };
}
