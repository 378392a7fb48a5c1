/**
 * The two parts of a rating write that changed in issue 17's third pass, measured alone (no HTTP, no lock
 * queue), alternating variants in blocks: `node bench/rating-parts.ts [blocks=4] [per block=1000]`.
 * - Redis invalidation: MULTI/DEL/INCR/EXPIRE/INCR/EXEC (ioredis transaction) vs the one-script form
 *   (EVALSHA), 10 in flight: this process's CPU (µs) per invalidation.
 * - `select * from rating_submit(…)` unnamed vs a named prepared statement, one connection, one call at a
 *   time (no lock waits): this process's CPU and the PostgreSQL backend's CPU (/proc/<pid>/stat) per call.
 * Prints the medians over blocks; note the load average beside them.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Redis } from 'ioredis';
import pg from 'pg';
import { INVALIDATE } from '../functions/lib/tracking/catalog-cache.ts';
import { median } from './lib.ts';
import { createFixture } from './tracking-fixture.ts';

const blocks = Number(process.argv[2] ?? 4);
const perBlock = Number(process.argv[3] ?? 1000);

const cpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};
function ticks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

const fixture = await createFixture();
try {
  const redis = new Redis(fixture.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
    keyPrefix: fixture.env.REDIS_KEY_PREFIX,
  }) as Redis & { invalidateAnime(n: number, ...args: (string | number)[]): Promise<unknown> };
  redis.defineCommand('invalidateAnime', { lua: INVALIDATE });
  const multi = async () => {
    const m = redis.multi();
    m.del('catalog:anime:1');
    m.incr('catalog:anime-gen:1');
    m.expire('catalog:anime-gen:1', 86_400);
    m.incr('catalog:ver');
    const results = await m.exec();
    if (results?.find(([error]) => error)) throw new Error('multi failed');
  };
  const script = () =>
    redis.invalidateAnime(3, 'catalog:anime:1', 'catalog:anime-gen:1', 'catalog:ver', 86_400);
  const redisRows: Record<string, number[]> = { multi: [], script: [] };
  const inFlight = async (op: () => Promise<unknown>) => {
    let left = perBlock;
    await Promise.all(
      Array.from({ length: 10 }, async () => {
        while (left-- > 0) await op();
      }),
    );
  };
  await inFlight(multi);
  await inFlight(script); // warm-up
  for (let b = 0; b < blocks; b++) {
    for (const [name, op] of b % 2
      ? ([
          ['script', script],
          ['multi', multi],
        ] as const)
      : ([
          ['multi', multi],
          ['script', script],
        ] as const)) {
      const t0 = cpuUs();
      await inFlight(op);
      redisRows[name]?.push((cpuUs() - t0) / perBlock);
    }
  }
  redis.disconnect();

  const client = new pg.Client({ connectionString: fixture.databaseUrl });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('select pg_backend_pid() as pid');
  const backend = rows[0]?.pid ?? 0;
  const text = 'select * from rating_submit($1, $2, $3, $4, $5, $6, $7)';
  const values = () => [
    'parts-user',
    'parts-user',
    null,
    null,
    1,
    JSON.stringify({ score: 7, animation: null, music: null, plot: null, characters: null, review: null }),
    JSON.stringify({
      specversion: '1.0',
      id: randomUUID(),
      type: 'dev.isekai.rating.submitted.v1',
      source: '/functions/rate-anime',
      subject: '1',
      time: new Date().toISOString(),
      datacontenttype: 'application/json',
      data: { animeId: 1, userId: 'parts-user' },
    }),
  ];
  const unnamed = () => client.query(text, values());
  const named = () => client.query({ name: 'rating_submit@parts', text, values: values() });
  const pgRows: Record<string, number[][]> = { unnamed: [], named: [] };
  for (let i = 0; i < 200; i++) {
    await unnamed();
    await named();
  }
  for (let b = 0; b < blocks; b++) {
    for (const [name, op] of b % 2
      ? ([
          ['named', named],
          ['unnamed', unnamed],
        ] as const)
      : ([
          ['unnamed', unnamed],
          ['named', named],
        ] as const)) {
      const t0 = cpuUs();
      const k0 = ticks(backend);
      const w0 = performance.now();
      for (let i = 0; i < perBlock; i++) await op();
      pgRows[name]?.push([
        (cpuUs() - t0) / perBlock,
        ((ticks(backend) - k0) * 10_000) / perBlock,
        ((performance.now() - w0) * 1000) / perBlock,
      ]);
    }
  }
  await client.end();

  process.stdout.write(
    `redis invalidation, this process's CPU per call (µs), median of ${blocks} blocks of ${perBlock}:\n`,
  );
  for (const [name, v] of Object.entries(redisRows))
    process.stdout.write(
      `  ${name.padEnd(8)} ${median(v).toFixed(1).padStart(7)}   (${v.map((x) => x.toFixed(0)).join(' ')})\n`,
    );
  process.stdout.write('rating_submit, per call (µs): node CPU, backend CPU, wall (one at a time)\n');
  for (const [name, v] of Object.entries(pgRows))
    process.stdout.write(
      `  ${name.padEnd(8)} ${[0, 1, 2]
        .map((i) =>
          median(v.map((r) => r[i] ?? Number.NaN))
            .toFixed(1)
            .padStart(7),
        )
        .join(' ')}   backend by block: ${v.map((r) => r[1]?.toFixed(0)).join(' ')}\n`,
    );
  process.stdout.write(
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}\n`,
  );
} finally {
  await fixture.close();
}
process.exit(0);
