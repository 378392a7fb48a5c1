import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { addGeneratedAnime } from '../../bench/large-catalogue.ts';
import {
  closestTitles,
  listAnime,
  SINGLE_WORD_SIMILARITY,
  SUGGESTION_SIMILARITY,
} from '../../functions/catalog/queries.ts';
import { createPostgres, type Postgres, type QueryOptions } from '../../functions/lib/data/postgres.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';
import { prepareDatabase } from '../support/tracking.ts';

/**
 * Title search on a catalogue of real size (the seed + 20 000 generated anime, bench/large-catalogue.ts):
 * every search — one word included — and the suggestions of a search that found nothing are served by the
 * trigram index `anime_search_trgm` instead of reading every title (`…word_similarity(…) >= x` cannot use an
 * index; pg_trgm's `<%` / `<<%` under a statement-local threshold can), and it still finds exactly what the
 * search is defined to find.
 * The plans are PostgreSQL's EXPLAIN of the very statements `listAnime` sends, under the settings it sends.
 */
const env = inject('env');
const runtime = createRuntime('catalog-search-plan-test', { env: { LOG_LEVEL: 'silent' } });
const GENERATED = 20_000;

interface Sent {
  readonly text: string;
  readonly values: unknown[];
  readonly options: QueryOptions | undefined;
}

let scratch: ScratchDatabase;
let real: Postgres;
let sent: Sent[] = [];
/** The real database, recording each statement sent (and its options) before running it. */
let db: Postgres;
let admin: pg.Pool;

beforeAll(async () => {
  scratch = await createScratchDatabase(env.DATABASE_URL as string, 'search_plan');
  await prepareDatabase(scratch.url); // the seed: its titles are the generator's words
  admin = new pg.Pool({ connectionString: scratch.url, max: 1 });
  const client = await admin.connect();
  try {
    expect(await addGeneratedAnime(client, GENERATED)).toBeGreaterThan(GENERATED);
  } finally {
    client.release();
  }
  real = createPostgres(runtime, { url: scratch.url, max: 2, statementTimeoutMs: 30_000 });
  db = {
    ...real,
    query: (text, values, options) => {
      sent.push({ text, values: values ?? [], options });
      return real.query(text, values, options);
    },
  };
}, 180_000);
afterAll(async () => {
  await real?.pool.end();
  await admin?.end();
  await scratch?.drop();
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (node: PlanNode): PlanNode[] => [node, ...(node.Plans ?? []).flatMap(nodes)];

/** EXPLAIN a statement as sent: in a transaction with its settings applied, as `Postgres.query` runs it. */
async function plan(statement: Sent): Promise<PlanNode[]> {
  const client = await admin.connect();
  try {
    await client.query('begin');
    for (const [name, value] of Object.entries(statement.options?.settings ?? {}))
      await client.query('select set_config($1, $2, true)', [name, value]);
    const { rows } = await client.query(`explain (format json) ${statement.text}`, statement.values);
    return nodes(rows[0]['QUERY PLAN'][0].Plan);
  } finally {
    await client.query('rollback');
    client.release();
  }
}

const SEARCHES = [
  ['one misspelled word', 'freiren'],
  ['one word', 'bebop'],
  ['one exact word with look-alikes', 'frieren'],
  ['the start of a word', 'frier'],
  ['one accented word', 'pokémon'],
  ['several words', 'naruto shipuden'],
];

describe('title search on 20 000 anime', () => {
  it.each(SEARCHES)('%s (%s) reads the trigram index, never every title', async (_name, q) => {
    sent = [];
    await listAnime(db, { q, page: 1, perPage: 20 });
    expect(sent).toHaveLength(1);
    const planned = await plan(sent[0] as Sent);
    expect(planned.filter((n) => n['Index Name'] === 'anime_search_trgm')).not.toHaveLength(0);
    expect(planned.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'anime')).toEqual(
      [],
    );
  });

  it.each(SEARCHES)('%s (%s) finds exactly the anime its definition names', async (_name, q) => {
    // The definition: the precise matches — a substring of a title, or every word of the query the start
    // of a word of the titles — and, only when there are none, the anime at strict word similarity ≥ 0.3
    // for one word (word similarity ≥ 0.6 for several). Here as a plain scan, to compare with what the
    // indexed search returns.
    const similarity = /\s/.test(q)
      ? 'word_similarity(lower(unaccent($1)), a.search_text) >= 0.6'
      : `strict_word_similarity(lower(unaccent($1)), a.search_text) >= ${SINGLE_WORD_SIMILARITY}`;
    const expected = await admin.query<{ id: number }>(
      `with m as (
         select a.id, a.search_text like '%' || lower(unaccent($1)) || '%'
             or (select bool_and(exists (select 1 from unnest(tsvector_to_array(a.search_vector)) v
                                          where left(v, length(w)) = w))
                 from unnest(tsvector_to_array(to_tsvector('simple', unaccent($1)))) w) as precise,
           ${similarity} as resembles
         from anime a)
       select id from m where precise or (resembles and not exists (select 1 from m where precise))`,
      [q],
    );
    const found: number[] = [];
    for (let page = 1; ; page++) {
      const result = await listAnime(db, { q, page, perPage: 100 });
      found.push(...result.items.map((a) => a.id));
      if (page >= result.totalPages) {
        expect(result.total).toBe(expected.rows.length);
        break;
      }
    }
    expect(expected.rows.length).toBeGreaterThan(0);
    expect(found.sort((x, y) => x - y)).toEqual(expected.rows.map((r) => r.id).sort((x, y) => x - y));
  });

  it.each([
    ['two misspelled words', 'kowboy bibop'],
    ['one misspelled word', 'frierem'],
  ])(
    'the suggestions for %s (%s) read the trigram index and are the closest titles by definition',
    async (_name, q) => {
      sent = [];
      const suggested = await closestTitles(db, q);
      expect(sent).toHaveLength(1);
      const planned = await plan(sent[0] as Sent);
      expect(planned.filter((n) => n['Index Name'] === 'anime_search_trgm')).not.toHaveLength(0);
      expect(planned.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === 'anime')).toEqual(
        [],
      );
      // The definition as a plain scan: the five best by strict word similarity ≥ 0.2, then as closestTitles.
      const expected = await admin.query<{ id: number }>(
        `select a.id from anime a join anime_stats s on s.anime_id = a.id
       where strict_word_similarity(lower(unaccent($1)), a.search_text) >= ${SUGGESTION_SIMILARITY}
       order by strict_word_similarity(lower(unaccent($1)), a.search_text) desc,
         similarity(lower(unaccent($1)), lower(unaccent(a.title))) desc, s.members desc, a.id
       limit 5`,
        [q],
      );
      expect(expected.rows.length).toBeGreaterThan(0);
      expect(suggested.map((a) => a.id)).toEqual(expected.rows.map((r) => r.id));
    },
  );
});
