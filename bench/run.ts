/**
 * `npm run bench [suite…]`: runs the benchmark suites and writes bench/results/<time>.json plus a table.
 * Every number is reported beside a floor measured in the same run (ratios), never asserted in tests.
 * Suites: host (default), and any bench/<suite>.ts exporting `run(options)` (catalog, rating, edge,
 * subtitles, ramp, soak). Flags after the suites belong to them: `npm run bench soak -- --minutes 3`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { benchHost } from './host.ts';

const root = new URL('..', import.meta.url).pathname;
const quick = process.env.BENCH_QUICK === '1';
// Suites are the bare arguments; `--name value` / `--name=value` are the suites' own flags (soak: --minutes).
const suites = process.argv
  .slice(2)
  .filter(
    (a, i, all) => !a.startsWith('--') && !(all[i - 1]?.startsWith('--') && !all[i - 1]?.includes('=')),
  );
const wanted = suites.length > 0 ? suites : ['host'];
const results: Record<string, unknown> = {
  startedAt: new Date().toISOString(),
  node: process.version,
  quick,
};

for (const suite of wanted) {
  process.stdout.write(`\n== ${suite}\n`);
  if (suite === 'host') {
    const host = await benchHost({ seconds: quick ? 2 : 5, rounds: quick ? 1 : 3, coldRuns: quick ? 3 : 9 });
    results.host = host;
    process.stdout.write('\nthroughput (median req/s as a share of bare node:http):\n');
    for (const [name, ratio] of Object.entries(host.ratios))
      process.stdout.write(`  ${name.padEnd(30)} ${(ratio * 100).toFixed(1)} %\n`);
    process.stdout.write('\ncold start (spawn → first 200), median; RSS after start:\n');
    const bareMs = host.coldStart['bare node:http']?.medianMs ?? 1;
    for (const [name, c] of Object.entries(host.coldStart)) {
      process.stdout.write(
        `  ${name.padEnd(30)} ${c.medianMs.toFixed(0).padStart(5)} ms (${(c.medianMs / bareMs).toFixed(2)}× bare)  RSS ${(c.rssKiB / 1024).toFixed(1)} MiB\n`,
      );
    }
  } else {
    const mod = (await import(join(root, 'bench', `${suite}.ts`))) as {
      run: (o: { quick: boolean }) => Promise<unknown>;
    };
    results[suite] = await mod.run({ quick });
  }
}

await mkdir(join(root, 'bench/results'), { recursive: true });
const file = join(root, 'bench/results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
process.stdout.write(`\nresults: ${file}\n`);
