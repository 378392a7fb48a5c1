/**
 * Rating write benchmark: PUT /anime/:id/rating on rate-anime (token verified, user upsert, aggregate
 * update, outbox insert, cache invalidation — one transaction) against pgbench running the equivalent
 * single-row upsert on the same database, in the same run. `npm run bench rating`, or
 * `node bench/rating.ts` (writes bench/results/rating-<time>.json).
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type LoadResult, load, median } from './lib.ts';
import { createFixture, root } from './tracking-fixture.ts';

const exec = promisify(execFile);

const UPSERT = `\\set score random(1, 10)
insert into ratings (user_id, anime_id, score) values ('bench-pgbench', 1, :score)
  on conflict (user_id, anime_id) do update set score = excluded.score, updated_at = now();
`;

async function pgbench(databaseUrl: string, seconds: number): Promise<number> {
  const script = join(root, 'bench/results/rating-upsert.sql');
  await writeFile(script, UPSERT);
  const { stdout } = await exec('pgbench', [
    '-n',
    '-c',
    '10',
    '-j',
    '1',
    '-T',
    String(seconds),
    '-f',
    script,
    databaseUrl,
  ]);
  return Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
}

export async function run(options: { quick: boolean }) {
  const seconds = options.quick ? 2 : 5;
  const rounds = options.quick ? 1 : 3;
  await mkdir(join(root, 'bench/results'), { recursive: true });
  const fixture = await createFixture();
  try {
    const { Client } = (await import('pg')).default;
    const client = new Client({ connectionString: fixture.databaseUrl });
    await client.connect();
    await client.query(`insert into users (id, username) values ('bench-pgbench', 'bench-pgbench')`);
    await client.end();
    const rate = await fixture.start('rate-anime', 0);
    const request = {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${await fixture.token('bench-user')}`,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ score: 8 }),
      connections: 10,
      cpu: 1,
      // wrk (C) as pgbench is C: autocannon spent ≈ 75 µs of core 1 per request, CPU the floor's client
      // does not take from PostgreSQL (`BENCH_RATING_LOADGEN=autocannon` for the old generator).
      wrkWithBody: process.env.BENCH_RATING_LOADGEN !== 'autocannon',
    };
    await load(`${rate.url}/anime/1/rating`, { ...request, seconds: 1 }); // warm-up
    const fn: LoadResult[] = [];
    const floor: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const measureFn = async () => {
        const r = await load(`${rate.url}/anime/1/rating`, { ...request, seconds });
        fn.push(r);
        process.stdout.write(
          `  rate-anime PUT rating          ${r.requestsPerSec.toFixed(0).padStart(7)} req/s  p99 ${r.p99Ms} ms  non-2xx ${r.non2xx}\n`,
        );
      };
      const measureFloor = async () => {
        const tps = await pgbench(fixture.databaseUrl, seconds);
        floor.push(tps);
        process.stdout.write(`  pgbench single-row upsert      ${tps.toFixed(0).padStart(7)} tps\n`);
      };
      if (round % 2 === 0) {
        await measureFn();
        await measureFloor();
      } else {
        await measureFloor();
        await measureFn();
      }
    }
    const ratio = median(fn.map((r) => r.requestsPerSec)) / median(floor);
    process.stdout.write(`  ratio to pgbench: ${ratio.toFixed(3)}\n`);
    return { seconds, rounds, function: fn, pgbenchTps: floor, ratio: Number(ratio.toFixed(3)) };
  } finally {
    await fixture.close();
  }
}

if (import.meta.main) {
  const result = await run({ quick: process.env.BENCH_QUICK === '1' });
  const file = join(root, 'bench/results', `rating-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ node: process.version, ...result }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
}
