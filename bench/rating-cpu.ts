/**
 * CPU per rating write, A/B between checkouts: `[SECONDS=3] [ROUNDS=3] node bench/rating-cpu.ts <rootA>
 * <rootB> […]` (e.g. a copy of main made with `git archive main | tar -x -C /tmp/main-copy` and a
 * `node_modules` symlink, against this worktree). Each root gets its own throwaway database (its own
 * migrations) and its own rate-anime (pinned to core 0, as `bench/rating.ts`). Rounds alternate the
 * variants and pgbench's single-row upsert; each prints req/s (tps), and the CPU time (µs, user + system
 * from /proc/<pid>/stat, 10 ms ticks) per request of rate-anime's process and of its PostgreSQL backends
 * (pgbench: of its backends, sampled while it runs). `LOADGEN=autocannon` drives rate-anime with
 * autocannon (what `bench/rating.ts` used before) instead of wrk; `PROF=<dir>` starts the last with `--cpu-prof`
 * (written at the end). Needs wrk, pgbench and taskset.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { runWrk, type WrkResult } from './lib.ts';
import type { Fixture } from './tracking-fixture.ts';

const exec = promisify(execFile);
const roots = process.argv.slice(2);
if (roots.length < 1) {
  process.stderr.write('usage: [SECONDS=3] [ROUNDS=3] node bench/rating-cpu.ts <rootA> [<rootB> …]\n');
  process.exit(64);
}
const seconds = Number(process.env.SECONDS ?? 3);
const rounds = Number(process.env.ROUNDS ?? 3);

/** CPU clock ticks (10 ms) a process has used (0 once it is gone). */
function ticks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}
const sum = (pids: readonly number[]) => pids.reduce((s, p) => s + ticks(p), 0);

async function backends(admin: pg.Client, database: string, app: string): Promise<number[]> {
  const { rows } = await admin.query<{ pid: number }>(
    'select pid from pg_stat_activity where datname = $1 and application_name = $2',
    [database, app],
  );
  return rows.map((r) => r.pid);
}

function wrk(url: string, token: string, secs: number): Promise<WrkResult> {
  const script = join(tmpdir(), `rating-cpu-${process.pid}.lua`);
  writeFileSync(script, 'wrk.method = "PUT"\nwrk.body = \'{"score":8}\'\n');
  return runWrk([
    '-t1',
    '-c10',
    `-d${secs}s`,
    '-s',
    script,
    '-H',
    `authorization: Bearer ${token}`,
    '-H',
    'content-type: application/json',
    url,
  ]);
}

async function autocannon(url: string, token: string, secs: number) {
  const { load } = await import('./lib.ts');
  const r = await load(url, {
    method: 'PUT',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: '{"score":8}',
    connections: 10,
    cpu: 1,
    seconds: secs,
  });
  if (r.non2xx > 0) throw new Error(`autocannon: ${r.non2xx} non-2xx`);
  return { requests: Math.round(r.requestsPerSec * secs), rps: r.requestsPerSec };
}

const UPSERT = `\\set score random(1, 10)
insert into ratings (user_id, anime_id, score) values ('bench-pgbench', 1, :score)
  on conflict (user_id, anime_id) do update set score = excluded.score, updated_at = now();
`;

const ADMIN = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const admin = new pg.Client({ connectionString: ADMIN });
await admin.connect();

interface Variant {
  name: string;
  fixture: Fixture;
  database: string;
  url: string;
  pid: number;
  token: string;
}
const variants: Variant[] = [];
try {
  for (const [i, root] of roots.entries()) {
    const name = String.fromCharCode(65 + i);
    const { createFixture } = (await import(join(root, 'bench/tracking-fixture.ts'))) as {
      createFixture: () => Promise<Fixture>;
    };
    const fixture = await createFixture();
    if (i === roots.length - 1 && process.env.PROF)
      process.env.NODE_OPTIONS = `--cpu-prof --cpu-prof-dir=${process.env.PROF}`;
    const started = await fixture.start('rate-anime', 0);
    delete process.env.NODE_OPTIONS;
    variants.push({
      name,
      fixture,
      database: new URL(fixture.databaseUrl).pathname.slice(1),
      url: `${started.url}/anime/1/rating`,
      pid: started.child.pid ?? 0,
      token: await fixture.token('bench-user'),
    });
  }
  const floorDb = variants[0] as Variant;
  const c = new pg.Client({ connectionString: floorDb.fixture.databaseUrl });
  await c.connect();
  await c.query(`insert into users (id, username) values ('bench-pgbench', 'bench-pgbench')`);
  await c.end();
  const script = join(tmpdir(), `rating-cpu-${process.pid}.sql`);
  writeFileSync(script, UPSERT);
  const drive = process.env.LOADGEN === 'autocannon' ? autocannon : wrk;
  for (const v of variants) await drive(v.url, v.token, Number(process.env.WARMUP ?? 5)); // JIT, pool

  async function pgbench() {
    const perClient = Math.max(200, Math.round(seconds * 150));
    const run = exec('pgbench', [
      '-n',
      '-c',
      '10',
      '-j',
      '1',
      '-t',
      String(perClient),
      '-f',
      script,
      floorDb.fixture.databaseUrl,
    ]);
    let pids: number[] = [];
    for (let i = 0; i < 200 && pids.length < 10; i++) {
      await new Promise((r) => setTimeout(r, 10));
      pids = await backends(admin, floorDb.database, 'pgbench');
    }
    const start = sum(pids);
    let last = start;
    let done = false;
    void run.finally(() => {
      done = true;
    });
    while (!done) {
      const now = sum(pids);
      if (now > 0) last = Math.max(last, now);
      await new Promise((r) => setTimeout(r, 20));
    }
    const { stdout } = await run;
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? 0);
    const latency = Number(/latency average = ([\d.]+) ms/.exec(stdout)?.[1] ?? 0);
    return { tps, latency, us: ((last - start) * 10_000) / (perClient * 10) };
  }

  const rows: Record<string, number[][]> = {};
  const add = (name: string, row: number[]) => {
    rows[name] = [...(rows[name] ?? []), row];
  };
  for (let round = 0; round < rounds; round++) {
    const floor = await pgbench();
    add('pgbench', [floor.tps, 0, floor.us]);
    process.stdout.write(
      `round ${round + 1} pgbench ${floor.tps.toFixed(0).padStart(6)} tps  latency ${floor.latency} ms  backends ${floor.us.toFixed(0)} µs/tx\n`,
    );
    // Each round starts one variant further on, so every variant runs early and late as often.
    const order = variants.map((_, i) => variants[(i + round) % variants.length] as Variant);
    for (const v of order) {
      // The pool closes connections idle for 30 s: a short run first brings all 10 back.
      await drive(v.url, v.token, 1);
      const pgPids = await backends(admin, v.database, 'rate-anime');
      const before = [ticks(v.pid), sum(pgPids)];
      const r = await drive(v.url, v.token, seconds);
      const us = [ticks(v.pid), sum(pgPids)].map((t, i) => ((t - (before[i] ?? 0)) * 10_000) / r.requests);
      add(v.name, [r.rps, us[0] ?? 0, us[1] ?? 0]);
      process.stdout.write(
        `round ${round + 1} ${v.name} ${r.rps.toFixed(0).padStart(6)} req/s (${(r.rps / floor.tps).toFixed(2)} of pgbench)  node ${us[0]?.toFixed(0)} µs  pg backends ${us[1]?.toFixed(0)} µs (${pgPids.length})  load ${loadavg()[0]?.toFixed(1)}\n`,
      );
    }
  }
  const median = (values: number[]) => {
    const s = [...values].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
  };
  process.stdout.write('\nmedians: req/s, µs per request of node, of PostgreSQL backends\n');
  for (const [name, values] of Object.entries(rows))
    process.stdout.write(
      `  ${name.padEnd(8)} ${[0, 1, 2]
        .map((i) =>
          median(values.map((v) => v[i] ?? Number.NaN))
            .toFixed(0)
            .padStart(8),
        )
        .join(' ')}\n`,
    );
  process.stdout.write(
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}\n`,
  );
} finally {
  for (const v of variants) await v.fixture.close();
  await admin.end();
}
process.exit(0);
