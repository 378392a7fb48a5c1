import type { Postgres } from '../lib/data/postgres.ts';
import { ENTRY_SQL, type Entry, entryView } from '../lib/tracking/entry.ts';
import { type RatingView, ratingView } from '../lib/tracking/rating-view.ts';
import type { ListQuery } from './schemas.ts';
import { SUGGESTION_SIMILARITY, titleSearch } from './title-search.ts';

export { SINGLE_WORD_SIMILARITY, SUGGESTION_SIMILARITY } from './title-search.ts';

export interface AnimeSummary {
  id: number;
  malId: number | null;
  title: string;
  titles: { romaji: string | null; english: string | null; native: string | null };
  type: string;
  episodes: number | null;
  status: string;
  season: string | null;
  year: number | null;
  genres: string[];
  studios: string[];
  picture: string | null;
  mean: number | null;
  members: number;
}

export interface AnimeDetail extends AnimeSummary {
  synonyms: string[];
  tags: string[];
  durationSeconds: number | null;
  sources: string[];
  stats: {
    mean: number | null;
    count: number;
    distribution: Record<string, number>;
    rank: number | null;
    /** Place by members (1 = most); null when nobody has the anime on a list (like rank without scores). */
    popularity: number | null;
    members: number;
    favourites: number;
    aspects: Record<'animation' | 'music' | 'plot' | 'characters', { mean: number | null; count: number }>;
  };
}

export interface Page<T> {
  items: T[];
  page: number;
  perPage: number;
  total: number;
  totalPages: number;
  /**
   * Only when a title search (`q`) found nothing on page 1: up to 5 anime whose titles are closest to `q`
   * (pg_trgm strict word similarity ≥ 0.2 over every title and synonym, ignoring the other filters), best
   * first.
   */
  suggestions?: T[];
}

const SUMMARY_COLUMNS = `a.id, a.mal_id, a.title, a.title_romaji, a.title_english, a.title_native, a.type,
  a.episodes, a.status, a.season, a.year, a.genres, a.studios, a.picture, s.mean, s.members`;

type Row = Record<string, unknown>;

function summary(row: Row): AnimeSummary {
  return {
    id: row.id as number,
    malId: (row.mal_id as number | null) ?? null,
    title: row.title as string,
    titles: {
      romaji: (row.title_romaji as string | null) ?? null,
      english: (row.title_english as string | null) ?? null,
      native: (row.title_native as string | null) ?? null,
    },
    type: row.type as string,
    episodes: (row.episodes as number | null) ?? null,
    status: row.status as string,
    season: (row.season as string | null) ?? null,
    year: (row.year as number | null) ?? null,
    genres: row.genres as string[],
    studios: row.studios as string[],
    picture: (row.picture as string | null) ?? null,
    mean: row.mean === null || row.mean === undefined ? null : Number(row.mean),
    members: (row.members as number | null) ?? 0,
  };
}

/**
 * One page of anime matching the filters, with the total. Search is fuzzy across every title and
 * synonym: substring, word prefixes (full text) and trigram word similarity; when some anime match the
 * query precisely (a substring, or word prefixes), those that only resemble it are left out
 * (`title-search.ts`). Ties break on id so pages are stable.
 */
export async function listAnime(db: Postgres, query: ListQuery): Promise<Page<AnimeSummary>> {
  const where: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  const search = query.q === undefined ? undefined : titleSearch(query.q, param);
  if (search) where.push(search.match);
  if (query.season !== undefined) where.push(`a.season = ${param(query.season)}`);
  if (query.year !== undefined) where.push(`a.year = ${param(query.year)}`);
  if (query.type !== undefined) where.push(`a.type = ${param(query.type)}`);
  if (query.status !== undefined) where.push(`a.status = ${param(query.status)}`);
  if (query.genre !== undefined) {
    where.push(`exists (select 1 from unnest(a.genres) g where lower(g) = lower(${param(query.genre)}))`);
  }
  if (query.studio !== undefined) {
    where.push(`exists (select 1 from unnest(a.studios) g where lower(g) = lower(${param(query.studio)}))`);
  }
  const sort = query.sort ?? (query.q !== undefined ? 'relevance' : 'popularity');
  const flip = query.order === undefined ? '' : query.order;
  const dir = (natural: 'asc' | 'desc') =>
    (flip || natural) === 'asc' ? 'asc nulls last' : 'desc nulls last';
  // Over the found anime (`hit`): the columns below are the inner select's.
  const orderBy = {
    relevance: `rank ${dir('desc')}, closeness ${dir('desc')}`,
    score: `mean ${dir('desc')}`,
    popularity: `members ${dir('desc')}`,
    title: `lower(title) ${dir('asc')}`,
    start_date: `start_key ${dir('desc')}`,
  }[sort];
  const filter = where.length > 0 ? `where ${where.join(' and ')}` : '';
  // The found anime; with a search, only the precise matches when there are some (a window over them all).
  const found = search
    ? `select * from (
        select ${SUMMARY_COLUMNS}, a.start_key, ${search.rank} as rank, ${search.closeness} as closeness,
          ${search.precise} as precise, bool_or(${search.precise}) over () as any_precise
        from anime a join anime_stats s on s.anime_id = a.id ${filter}) m
      where precise or not any_precise`
    : `select ${SUMMARY_COLUMNS}, a.start_key, 0 as rank, 0 as closeness
        from anime a join anime_stats s on s.anime_id = a.id ${filter}`;
  const limit = param(query.perPage);
  const offset = param((query.page - 1) * query.perPage);
  const sql = `select hit.*, count(*) over () as total from (${found}) hit
    order by ${orderBy}, id limit ${limit} offset ${offset}`;
  const settings = search?.settings;
  const { rows } = await db.query(sql, values, { settings });
  let total = rows.length > 0 ? Number(rows[0]?.total) : 0;
  if (rows.length === 0 && query.page > 1) {
    const counted = await db.query(`select count(*)::int as n from (${found}) hit`, values.slice(0, -2), {
      settings,
    });
    total = counted.rows[0]?.n ?? 0;
  }
  const page: Page<AnimeSummary> = {
    items: rows.map(summary),
    page: query.page,
    perPage: query.perPage,
    total,
    totalPages: Math.ceil(total / query.perPage),
  };
  if (total === 0 && query.q !== undefined && query.page === 1)
    page.suggestions = await closestTitles(db, query.q);
  return page;
}

/**
 * The anime whose titles are closest to `q`, for a search that found nothing: pg_trgm strict word
 * similarity (between `q` and whole words of the titles/synonyms) at least SUGGESTION_SIMILARITY, best
 * first, then by similarity to the main title, then by members. `<<%` under a statement-local threshold,
 * so the trigram index (`anime_search_trgm`) finds the candidates instead of a scan of every title.
 */
export async function closestTitles(db: Postgres, q: string, limit = 5): Promise<AnimeSummary[]> {
  const { rows } = await db.query(
    `select ${SUMMARY_COLUMNS} from anime a join anime_stats s on s.anime_id = a.id
     where lower(unaccent($1)) <<% a.search_text
     order by strict_word_similarity(lower(unaccent($1)), a.search_text) desc,
       similarity(lower(unaccent($1)), lower(unaccent(a.title))) desc, s.members desc, a.id
     limit $2`,
    [q, limit],
    { settings: { 'pg_trgm.strict_word_similarity_threshold': String(SUGGESTION_SIMILARITY) } },
  );
  return rows.map(summary);
}

const ASPECTS = ['animation', 'music', 'plot', 'characters'] as const;

/** The anime with its aggregates: mean, count, distribution 1–10, rank, popularity, members. */
export async function animeDetail(db: Postgres, id: number): Promise<AnimeDetail | undefined> {
  const { rows } = await db.query(
    `select ${SUMMARY_COLUMNS}, a.synonyms, a.tags, a.duration_seconds, a.sources,
       s.score_count, s.distribution, s.favourites,
       s.animation_sum, s.animation_count, s.music_sum, s.music_count,
       s.plot_sum, s.plot_count, s.characters_sum, s.characters_count,
       case when s.mean is null then null else
         (select count(*) + 1 from anime_stats o where o.mean > s.mean)::int end as rank,
       case when s.members = 0 then null else
         (select count(*) + 1 from anime_stats o where o.members > s.members)::int end as popularity
     from anime a join anime_stats s on s.anime_id = a.id where a.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  const distribution: Record<string, number> = {};
  (row.distribution as number[]).forEach((n, i) => {
    distribution[String(i + 1)] = n;
  });
  const aspect = (name: (typeof ASPECTS)[number]) => {
    const count = row[`${name}_count`] as number;
    const sum = Number(row[`${name}_sum`]);
    return { mean: count > 0 ? Math.round((sum / count) * 100) / 100 : null, count };
  };
  const base = summary(row);
  return {
    ...base,
    synonyms: row.synonyms,
    tags: row.tags,
    durationSeconds: row.duration_seconds,
    sources: row.sources,
    stats: {
      mean: base.mean,
      count: row.score_count,
      distribution,
      rank: row.rank,
      popularity: row.popularity,
      members: base.members,
      favourites: row.favourites,
      aspects: {
        animation: aspect('animation'),
        music: aspect('music'),
        plot: aspect('plot'),
        characters: aspect('characters'),
      },
    },
  };
}

/**
 * The caller's own list entry and rating for an anime (never cached), in the same shapes as the library
 * and rate-anime APIs (`entryView`, `ratingView`): one round trip.
 */
export async function callerView(
  db: Postgres,
  userId: string,
  animeId: number,
): Promise<{ entry: Entry | null; rating: RatingView | null }> {
  const { rows } = await db.query(
    `select ${ENTRY_SQL}, r.score, r.animation, r.music, r.plot, r.characters, r.review,
       r.created_at as rating_created_at, r.updated_at as rating_updated_at
     from (select $1::text as user_id, $2::int as anime_id) k
     left join library_entries e on e.user_id = k.user_id and e.anime_id = k.anime_id
     left join ratings r on r.user_id = k.user_id and r.anime_id = k.anime_id`,
    [userId, animeId],
  );
  const row = rows[0] ?? {};
  return {
    entry: row.status == null ? null : entryView(row),
    rating:
      row.score == null
        ? null
        : ratingView({ ...row, created_at: row.rating_created_at, updated_at: row.rating_updated_at }),
  };
}
