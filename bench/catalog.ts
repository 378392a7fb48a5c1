/**
 * Catalog read benchmark: a cached anime detail and a cached search on the catalog function (lean host,
 * PostgreSQL + Redis behind it) against bare node:http in the same run. `npm run bench catalog`, or
 * `node bench/catalog.ts` (writes bench/results/catalog-<time>.json).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type LoadResult, load, median, startServer } from './lib.ts';
import { createFixture, root } from './tracking-fixture.ts';

export async function run(options: { quick: boolean }) {
  const seconds = options.quick ? 2 : 5;
  const rounds = options.quick ? 1 : 3;
  const fixture = await createFixture();
  try {
    const bare = await startServer([process.execPath, join(root, 'bench/fixtures/bare.ts')], {}, { cpu: 0 });
    const catalog = await fixture.start('catalog', 0);
    const detail = `${catalog.url}/anime/1`;
    const search = `${catalog.url}/anime?q=cowboy%20bebop&perPage=20`;
    const targets: Record<string, string> = {
      'bare node:http': bare.url,
      'catalog detail (cached)': detail,
      'catalog search (cached)': search,
    };
    for (const url of Object.values(targets)) await load(url, { seconds: 1, connections: 50, cpu: 1 }); // warm-up, fills the cache
    const results: Record<string, LoadResult[]> = {};
    for (let round = 0; round < rounds; round++) {
      const order = Object.entries(targets);
      for (const [name, url] of round % 2 === 0 ? order : order.reverse()) {
        const result = await load(url, { seconds, connections: 50, cpu: 1 });
        results[name] ??= [];
        results[name].push(result);
        process.stdout.write(
          `  ${name.padEnd(28)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms} ms  non-2xx ${result.non2xx}\n`,
        );
      }
    }
    await bare.stop();
    const rps = (name: string) => median((results[name] ?? []).map((r) => r.requestsPerSec));
    const floor = rps('bare node:http');
    const ratios = Object.fromEntries(
      Object.keys(targets).map((n) => [n, Number((rps(n) / floor).toFixed(3))]),
    );
    process.stdout.write(`  ratios to bare node:http: ${JSON.stringify(ratios)}\n`);
    return { seconds, rounds, results, ratios };
  } finally {
    await fixture.close();
  }
}

if (import.meta.main) {
  const result = await run({ quick: process.env.BENCH_QUICK === '1' });
  await mkdir(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `catalog-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ node: process.version, ...result }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
}
