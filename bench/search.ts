/**
 * Uncached title search on a catalogue of real size: the catalog's search statement as it was (one-word
 * queries matched with `word_similarity(…) >= 0.3`, which no index serves: every title read) against
 * `listAnime` as it is (pg_trgm's `<%` under a statement-local threshold: the trigram index), on the seed +
 * `BENCH_SEARCH_ANIME` generated anime (default 30 000; bench/large-catalogue.ts), alternated in one run.
 * Measured per query, as the catalog function pays on a cache miss: latency (client side, round trips
 * included) and CPU of the PostgreSQL backend serving it (`/proc/<pid>/stat`, 10 ms ticks, over the whole
 * run of a variant). `npm run bench search`, or `node bench/search.ts` (writes bench/results/search-<time>.json).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { listAnime } from '../functions/catalog/queries.ts';
import { createPostgres, type Postgres } from '../functions/lib/data/postgres.ts';
import { createRuntime } from '../functions/lib/runtime.ts';
import { addGeneratedAnime } from './large-catalogue.ts';
import { cpuOf, median } from './lib.ts';
import { createFixture, root } from './tracking-fixture.ts';

/** Searches people type: one word (typos included), and several words. */
const QUERIES = {
  'one word': ['freiren', 'bebop', 'naruto', 'gintama', 'evangelion', 'pokemon', 'haikyu', 'kimetsu'],
  'several words': ['naruto shipuden', 'cowboy bebop', 'spirited away', 'attack on titan'],
} as const;
type Kind = keyof typeof QUERIES;

const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The search statement before the index was used (functions/catalog/queries.ts at main f14b10a), for a
 * `q` search's first page sorted by relevance: what `listAnime` sent then.
 */
function before(db: Postgres, q: string, perPage: number) {
  const loose = /\s/.test(q.trim()) ? '' : ' or word_similarity(lower(unaccent($1)), a.search_text) >= 0.3';
  return db.query(
    `select a.id, a.mal_id, a.title, a.title_romaji, a.title_english, a.title_native, a.type,
       a.episodes, a.status, a.season, a.year, a.genres, a.studios, a.picture, s.mean, s.members,
       count(*) over () as total
     from anime a join anime_stats s on s.anime_id = a.id
     where (a.search_text like lower(unaccent('%' || $2 || '%')) or lower(unaccent($1)) <% a.search_text
       or a.search_vector @@ plainto_tsquery('simple', unaccent($1))${loose})
     order by (greatest(word_similarity(lower(unaccent($1)), a.search_text),
         ts_rank(a.search_vector, plainto_tsquery('simple', unaccent($1))))
       + case when lower(a.title) = lower($1) then 1 else 0 end) desc nulls last, a.id
     limit $3 offset $4`,
    [q, likeEscape(q.toLowerCase()), perPage, 0],
  );
}

interface Measured {
  readonly queries: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  /** CPU of the PostgreSQL backend per query, ms. */
  readonly backendCpuMs: number;
}

export async function run(options: { quick: boolean }) {
  const seconds = options.quick ? 2 : 5;
  const rounds = options.quick ? 1 : 3;
  const generated = Number(process.env.BENCH_SEARCH_ANIME ?? 30_000);
  const fixture = await createFixture();
  const runtime = createRuntime('bench-search', { env: { LOG_LEVEL: 'silent' } });
  // One connection: every statement runs on the same backend, whose CPU is read from /proc.
  const db = createPostgres(runtime, { url: fixture.databaseUrl, max: 1, statementTimeoutMs: 60_000 });
  try {
    const client = await db.pool.connect();
    const started = performance.now();
    const anime = await addGeneratedAnime(client, generated).finally(() => client.release());
    process.stdout.write(
      `  catalogue: ${anime} anime (${generated} generated in ${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
    );
    const variants = {
      before: (q: string) => before(db, q, 20),
      after: (q: string) => listAnime(db, { q, page: 1, perPage: 20 }),
    };
    const measure = async (kind: Kind, call: (q: string) => Promise<unknown>): Promise<Measured> => {
      const backend = (await db.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid ?? 0;
      const latencies: number[] = [];
      const cpuBefore = await cpuOf(backend);
      const until = performance.now() + seconds * 1000;
      for (let i = 0; performance.now() < until; i++) {
        const q = QUERIES[kind][i % QUERIES[kind].length] as string;
        const t = performance.now();
        await call(q);
        latencies.push(performance.now() - t);
      }
      const cpu = (await cpuOf(backend)) - cpuBefore;
      return {
        queries: latencies.length,
        meanMs: latencies.reduce((a, b) => a + b, 0) / latencies.length,
        p50Ms: median(latencies),
        backendCpuMs: cpu / latencies.length,
      };
    };
    for (const kind of Object.keys(QUERIES) as Kind[])
      for (const q of QUERIES[kind]) for (const call of Object.values(variants)) await call(q); // warm-up
    const results: Record<string, Measured[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const kind of Object.keys(QUERIES) as Kind[]) {
        const order = Object.entries(variants);
        for (const [name, call] of round % 2 === 0 ? order : order.reverse()) {
          const m = await measure(kind, call);
          const key = `${kind}, ${name}`;
          results[key] ??= [];
          results[key].push(m);
          process.stdout.write(
            `  ${key.padEnd(22)} ${String(m.queries).padStart(5)} queries  mean ${m.meanMs.toFixed(2).padStart(7)} ms  p50 ${m.p50Ms.toFixed(2).padStart(7)} ms  backend CPU ${m.backendCpuMs.toFixed(2).padStart(6)} ms/query\n`,
          );
        }
      }
    }
    const mid = (key: string, field: keyof Measured) => median((results[key] ?? []).map((m) => m[field]));
    const ratios: Record<string, number> = {};
    for (const kind of Object.keys(QUERIES) as Kind[]) {
      ratios[`${kind}: latency before / after`] = Number(
        (mid(`${kind}, before`, 'meanMs') / mid(`${kind}, after`, 'meanMs')).toFixed(2),
      );
      ratios[`${kind}: backend CPU before / after`] = Number(
        (mid(`${kind}, before`, 'backendCpuMs') / mid(`${kind}, after`, 'backendCpuMs')).toFixed(2),
      );
    }
    process.stdout.write(`  ratios (medians of rounds): ${JSON.stringify(ratios)}\n`);
    return { anime, seconds, rounds, loadAverage: loadavg(), results, ratios };
  } finally {
    await db.pool.end();
    await fixture.close();
  }
}

if (import.meta.main) {
  const result = await run({ quick: process.env.BENCH_QUICK === '1' });
  await mkdir(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `search-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, `${JSON.stringify({ node: process.version, ...result }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
  process.exit(0);
}
