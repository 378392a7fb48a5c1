/**
 * A catalogue of real size for search plans and timings (anime-offline-database holds ~40 000 anime; the
 * seed 207): generated anime whose titles are three words drawn from the words of the titles already there
 * (the seed's romaji, English and synonyms), so trigrams and words are distributed as in real titles.
 * Used by `bench/search.ts` and `test/integration/catalog-search-plan.test.ts`.
 */
import type pg from 'pg';

/**
 * Add `count` generated anime ("Kyojin bebop no Hagane", deterministic: the same database gets the same
 * titles) with their `anime_stats` rows in one statement, then VACUUM ANALYZE both tables (outside a
 * transaction: `client` must not be in one) so indexes and statistics are as autovacuum would leave them. Needs titles to draw words from (import the seed first). Returns the number of anime now in the
 * catalogue. Takes ~2 s for 20 000 on an idle 2-core machine (the GIN indexes are most of it).
 */
export async function addGeneratedAnime(client: pg.ClientBase, count: number): Promise<number> {
  await client.query(
    `with vocab as (
       select array_agg(w order by w) as words from (
         select distinct w from anime, regexp_split_to_table(search_text, '[^a-z]+') w where length(w) >= 3
       ) v
     ), made as (
       select n, initcap(words[1 + mod(abs(hashint4(n)::bigint), cardinality(words))]) || ' '
           || words[1 + mod(abs(hashint4(n + 1000003)::bigint), cardinality(words))] || ' no '
           || initcap(words[1 + mod(abs(hashint4(n + 2000003)::bigint), cardinality(words))]) as title
       from generate_series(1, $1::int) n, vocab
     ), inserted as (
       insert into anime (sources, content_hash, title, type, status, search_text, search_vector)
       select array['https://generated.isekai.invalid/anime/' || n], 'generated', title, 'tv', 'finished',
         lower(unaccent(title)), to_tsvector('simple', unaccent(title))
       from made
       returning id
     )
     insert into anime_stats (anime_id) select id from inserted`,
    [count],
  );
  // As autovacuum would leave them: GIN's pending list merged into the indexes (a search reads the whole
  // pending list until then), statistics current.
  await client.query('vacuum analyze anime');
  await client.query('vacuum analyze anime_stats');
  const { rows } = await client.query<{ n: number }>('select count(*)::int as n from anime');
  return rows[0]?.n ?? 0;
}
