/**
 * Function host benchmark (issue 6): a registered hello-world function on functions-framework and on the
 * lean host, against a bare node:http server measured in the same run; plus cold start and RSS.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { BUNDLE_OPTIONS } from '../scripts/build.ts';
import { type LoadResult, load, median, startServer } from './lib.ts';

const root = new URL('..', import.meta.url).pathname;
const out = join(root, 'dist/bench');

/** Bundle the fixtures the way production bundles functions (one ESM file each). */
async function bundleFixtures(): Promise<Record<string, string>> {
  await mkdir(out, { recursive: true });
  const common = BUNDLE_OPTIONS;
  await build({
    ...common,
    entryPoints: [join(root, 'bench/fixtures/bare.ts')],
    outfile: join(out, 'bare.mjs'),
  });
  for (const target of ['hello', 'hello-runtime']) {
    await build({
      ...common,
      stdin: {
        contents: `import './bench/fixtures/hello.ts'; import { runHost } from './functions/lib/host/run.ts'; await runHost({ target: '${target}', port: Number(process.env.PORT), host: '127.0.0.1' });`,
        resolveDir: root,
        loader: 'ts',
      },
      outfile: join(out, `${target}.mjs`),
    });
  }
  return {
    bare: join(out, 'bare.mjs'),
    hello: join(out, 'hello.mjs'),
    'hello-runtime': join(out, 'hello-runtime.mjs'),
  };
}

export interface HostBenchResult {
  throughput: Record<string, LoadResult[]>;
  ratios: Record<string, number>;
  coldStart: Record<string, { medianMs: number; runs: number[]; rssKiB: number }>;
}

export async function benchHost(options: {
  seconds: number;
  rounds: number;
  coldRuns: number;
}): Promise<HostBenchResult> {
  const files = await bundleFixtures();
  const ff = join(root, 'node_modules/@google-cloud/functions-framework/build/src/main.js');
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
  const cold: Record<string, string[]> = {
    'bare node:http': [process.execPath, files.bare ?? ''],
    'lean host (hello-runtime)': [process.execPath, files['hello-runtime'] ?? ''],
    'functions-framework (hello)': variants['functions-framework (hello)'] ?? [],
  };
  for (const [name, command] of Object.entries(cold)) {
    const runs: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < options.coldRuns; i++) {
      const server = await startServer(command, {}, { cpu: 0 });
      runs.push(server.startMs);
      rss.push(server.rssKiB);
      await server.stop();
    }
    coldStart[name] = { medianMs: median(runs), runs: runs.map((r) => Math.round(r)), rssKiB: median(rss) };
  }
  return { throughput, ratios, coldStart };
}
