/**
 * The SQL of a title search (`GET /anime?q=`): which anime a query finds, which of them match it
 * precisely, and how they rank. Pure: builds expressions over `anime a` from the query's placeholder.
 */

/**
 * pg_trgm strict word similarity from which a one-word query matches a word of a title (typos such as
 * "freiren" for Frieren: 0.33, "monstr" for Monster: 0.5). Strict: the query is compared with whole words.
 * Plain word similarity also compares it with parts of words, so a short word matched every title with a
 * word of the same first two letters ("love" ~ "lost": 0.4) — a screen of unrelated titles.
 */
export const SINGLE_WORD_SIMILARITY = 0.3;
/** Strict word similarity from which a title is suggested when a search found nothing (closestTitles). */
export const SUGGESTION_SIMILARITY = 0.2;

export interface TitleSearch {
  /** True for every anime the query finds: precisely, or only by trigram similarity (a typo). */
  readonly match: string;
  /**
   * True where the query matches precisely: a substring of a title (which also covers Japanese titles,
   * written without spaces), or each of its words the start of a word of the titles ("frier" → Frieren,
   * "beb cowboy" → Cowboy Bebop). When some anime match precisely, those matching only by similarity are
   * left out: "frieren" finds Frieren, not also Natsume's Book of Friends ("friends": 0.33, the
   * similarity of a one-letter typo), while "frierin", which matches no title precisely, still finds it.
   */
  readonly precise: string;
  /** Relevance: similarity (1 for a whole word) or full-text rank, + 1 for the very main title. */
  readonly rank: string;
  /** Equal ranks (every title with the word "monster", for "monstr") go to the closest main title. */
  readonly closeness: string;
  /** The statement-local settings the trigram operator needs. */
  readonly settings: Record<string, string> | undefined;
}

/** Escape LIKE wildcards in user text. */
export const likeEscape = (text: string) => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The search for `query`; `param` adds a value to the statement and answers its placeholder.
 *
 * pg_trgm's `<<%` / `<%` are true from pg_trgm.strict_word_similarity_threshold /
 * word_similarity_threshold on, and the trigram index serves them (a `…similarity(…) >= x` test cannot use
 * an index: it scanned the whole catalogue). One word is compared with whole words (`<<%`) from 0.3, set
 * for this statement only (`QueryOptions.settings`: two more round trips); several words keep `<%` at
 * pg_trgm's default, 0.6 ("kowboy bibop" gets suggestions instead), in one round trip (bench/README.md,
 * "Uncached title search"). The substring test is served by the same index, the word prefixes by the
 * full-text one (`anime_search_fts`).
 */
export function titleSearch(query: string, param: (value: unknown) => string): TitleSearch {
  const q = param(query);
  const norm = `lower(unaccent(${q}))`;
  const like = `a.search_text like lower(unaccent('%' || ${param(likeEscape(query.toLowerCase()))} || '%'))`;
  const ts = `plainto_tsquery('simple', unaccent(${q}))`;
  // Each word of the query (as the stored vector's parser splits it) as a quoted prefix: 'w1':* & 'w2':*.
  const prefixes = `to_tsquery('simple', array_to_string(array(
      select '''' || replace(replace(w, '\\', '\\\\'), '''', '''''') || ''':*'
      from unnest(tsvector_to_array(to_tsvector('simple', unaccent(${q})))) w), ' & '))`;
  const oneWord = !/\s/.test(query.trim());
  const [op, similarity] = oneWord ? ['<<%', 'strict_word_similarity'] : ['<%', 'word_similarity'];
  const precise = `(${like} or a.search_vector @@ ${prefixes})`;
  return {
    match: `(${precise} or ${norm} ${op} a.search_text)`,
    precise,
    rank: `(greatest(${similarity}(${norm}, a.search_text), ts_rank(a.search_vector, ${ts}))
      + case when lower(a.title) = lower(${q}) then 1 else 0 end)`,
    closeness: `similarity(${norm}, lower(unaccent(a.title)))`,
    settings: oneWord
      ? { 'pg_trgm.strict_word_similarity_threshold': String(SINGLE_WORD_SIMILARITY) }
      : undefined,
  };
}
