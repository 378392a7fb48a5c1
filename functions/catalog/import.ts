import { createHash } from 'node:crypto';
import type pg from 'pg';
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { ValidationFailed } from '../lib/errors.ts';
import { ANIME_TYPES } from '../lib/tracking/anime.ts';

/**
 * Catalogue import from anime-offline-database JSON (https://github.com/manami-project/anime-offline-database)
 * and our seed's extension of it (titles, genres, malId). Idempotent: a record is matched by MAL id or
 * by any shared source URL, rewritten only when its content changed.
 */
const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Optional(Type.Union([schema, Type.Null()]));

export const DatasetAnime = Type.Object({
  sources: Type.Array(Type.String({ pattern: '^https?://' }), { minItems: 1 }),
  title: Type.String({ minLength: 1 }),
  titles: Type.Optional(
    Type.Object({
      romaji: Nullable(Type.String()),
      english: Nullable(Type.String()),
      native: Nullable(Type.String()),
    }),
  ),
  type: Type.String(),
  episodes: Type.Integer({ minimum: 0 }),
  status: Type.String(),
  animeSeason: Type.Object({
    season: Type.String(),
    year: Type.Optional(Type.Union([Type.Integer(), Type.Null()])),
  }),
  duration: Type.Optional(Type.Object({ value: Type.Integer({ minimum: 0 }), unit: Type.String() })),
  picture: Type.Optional(Type.String()),
  synonyms: Type.Optional(Type.Array(Type.String())),
  studios: Type.Optional(Type.Array(Type.String())),
  genres: Type.Optional(Type.Array(Type.String())),
  tags: Type.Optional(Type.Array(Type.String())),
  malId: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type DatasetAnime = Static<typeof DatasetAnime>;
const checkAnime = Compile(DatasetAnime);

const GENRES = [
  'Action',
  'Adventure',
  'Avant Garde',
  'Award Winning',
  'Boys Love',
  'Comedy',
  'Drama',
  'Ecchi',
  'Fantasy',
  'Girls Love',
  'Gourmet',
  'Horror',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Slice of Life',
  'Sports',
  'Supernatural',
  'Suspense',
];
const GENRE_BY_KEY = new Map(GENRES.map((g) => [g.toLowerCase(), g]));
/** Types a dataset record may name ('unknown' is what a record without one gets). */
const TYPES = new Set<string>(ANIME_TYPES.filter((t) => t !== 'unknown'));
const STATUSES = new Set(['finished', 'ongoing', 'upcoming']);
const SEASONS = new Set(['winter', 'spring', 'summer', 'fall']);

/** A dataset record in our columns. */
export interface AnimeRecord {
  malId: number | null;
  sources: string[];
  title: string;
  titleRomaji: string | null;
  titleEnglish: string | null;
  titleNative: string | null;
  synonyms: string[];
  type: string;
  episodes: number | null;
  status: string;
  season: string | null;
  year: number | null;
  durationSeconds: number | null;
  studios: string[];
  genres: string[];
  tags: string[];
  picture: string | null;
  hash: string;
}

/** Normalise one dataset record (the plain dataset has no `genres`: they are read from its tags). */
export function toRecord(anime: DatasetAnime): AnimeRecord {
  const malFromSource = anime.sources
    .map((s) => /^https?:\/\/myanimelist\.net\/anime\/(\d+)/.exec(s)?.[1])
    .find((id) => id !== undefined);
  const type = anime.type.toLowerCase();
  const status = anime.status.toLowerCase();
  const season = anime.animeSeason.season.toLowerCase();
  const year = anime.animeSeason.year ?? null;
  const genres =
    anime.genres ??
    (anime.tags ?? []).map((t) => GENRE_BY_KEY.get(t.toLowerCase())).filter((g) => g !== undefined);
  const record = {
    malId: anime.malId ?? (malFromSource ? Number(malFromSource) : null),
    sources: [...new Set(anime.sources)].sort(),
    title: anime.title,
    titleRomaji: anime.titles?.romaji ?? null,
    titleEnglish: anime.titles?.english ?? null,
    titleNative: anime.titles?.native ?? null,
    synonyms: [...new Set(anime.synonyms ?? [])],
    type: TYPES.has(type) ? type : 'unknown',
    episodes: anime.episodes > 0 ? anime.episodes : null,
    status: STATUSES.has(status) ? status : 'unknown',
    season: SEASONS.has(season) && year !== null ? season : null,
    year: year !== null && year >= 1900 && year <= 2200 ? year : null,
    durationSeconds: anime.duration?.unit === 'SECONDS' ? anime.duration.value : null,
    studios: [...new Set(anime.studios ?? [])],
    genres: [...new Set(genres)],
    tags: [...new Set(anime.tags ?? [])],
    picture: anime.picture ?? null,
  };
  const hash = createHash('sha256').update(JSON.stringify(record)).digest('base64url');
  return { ...record, hash };
}

export interface ParsedDataset {
  readonly records: AnimeRecord[];
  /** Records that could not be read, by index in `data`. */
  readonly rejected: { index: number; title: string | undefined; reason: string }[];
}

/** Read a dataset file's JSON. Throws ValidationFailed when it is not a dataset at all. */
export function parseDataset(text: string): ParsedDataset {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new ValidationFailed('the dataset is not valid JSON', {
      cause: error,
      issues: [{ field: '', message: 'malformed JSON' }],
    });
  }
  const data = (document as { data?: unknown } | null)?.data;
  if (!Array.isArray(data)) {
    throw new ValidationFailed('the dataset has no "data" array', {
      issues: [{ field: '/data', message: 'must be an array' }],
    });
  }
  const records: AnimeRecord[] = [];
  const rejected: ParsedDataset['rejected'] = [];
  data.forEach((item: unknown, index) => {
    if (checkAnime.Check(item)) {
      records.push(toRecord(item));
      return;
    }
    const first = checkAnime.Errors(item)[0];
    rejected.push({
      index,
      title:
        typeof (item as { title?: unknown })?.title === 'string'
          ? (item as { title: string }).title
          : undefined,
      reason: `${first?.instancePath || '/'} ${first?.message ?? 'invalid'}`,
    });
  });
  return { records, rejected };
}

export interface ImportProgress {
  done: number;
  total: number;
  inserted: number;
  updated: number;
  unchanged: number;
}

const SEARCH_TEXT = `lower(unaccent(concat_ws(' | ', $3::text, $4::text, $5::text, $6::text, array_to_string($7::text[], ' | '))))`;
const SEARCH_VECTOR = `to_tsvector('simple', unaccent(concat_ws(' ', $3::text, $4::text, $5::text, $6::text, array_to_string($7::text[], ' '))))`;
const COLUMNS = [
  'mal_id',
  'sources',
  'title',
  'title_romaji',
  'title_english',
  'title_native',
  'synonyms',
  'type',
  'episodes',
  'status',
  'season',
  'year',
  'duration_seconds',
  'studios',
  'genres',
  'tags',
  'picture',
  'content_hash',
];
const values = (r: AnimeRecord) => [
  r.malId,
  r.sources,
  r.title,
  r.titleRomaji,
  r.titleEnglish,
  r.titleNative,
  r.synonyms,
  r.type,
  r.episodes,
  r.status,
  r.season,
  r.year,
  r.durationSeconds,
  r.studios,
  r.genres,
  r.tags,
  r.picture,
  r.hash,
];

/** Upsert one record; answers what happened and the anime id. */
async function upsert(
  client: pg.ClientBase,
  record: AnimeRecord,
): Promise<{ id: number; outcome: 'inserted' | 'updated' | 'unchanged' }> {
  const found = await client.query<{ id: number; content_hash: string }>(
    `select id, content_hash from anime where ($1::int is not null and mal_id = $1) or sources && $2::text[]
     order by (mal_id = $1) desc nulls last, id limit 1`,
    [record.malId, record.sources],
  );
  const existing = found.rows[0];
  if (existing?.content_hash === record.hash) return { id: existing.id, outcome: 'unchanged' };
  if (existing) {
    const sets = COLUMNS.map((c, i) => `${c} = $${i + 1}`).join(', ');
    await client.query(
      `update anime set ${sets}, search_text = ${SEARCH_TEXT}, search_vector = ${SEARCH_VECTOR}, updated_at = now()
       where id = $${COLUMNS.length + 1}`,
      [...values(record), existing.id],
    );
    return { id: existing.id, outcome: 'updated' };
  }
  const placeholders = COLUMNS.map((_, i) => `$${i + 1}`).join(', ');
  const inserted = await client.query<{ id: number }>(
    `insert into anime (${COLUMNS.join(', ')}, search_text, search_vector)
     values (${placeholders}, ${SEARCH_TEXT}, ${SEARCH_VECTOR}) returning id`,
    values(record),
  );
  const id = inserted.rows[0]?.id as number;
  await client.query('insert into anime_stats (anime_id) values ($1) on conflict do nothing', [id]);
  return { id, outcome: 'inserted' };
}

/**
 * Upsert records in transactions of `batchSize`, calling `onProgress` after each batch. Returns the
 * counts and the ids whose cached objects must be dropped.
 */
export async function importRecords(
  transaction: <T>(work: (client: pg.PoolClient) => Promise<T>) => Promise<T>,
  records: readonly AnimeRecord[],
  options: { batchSize?: number; onProgress?: (p: ImportProgress) => void } = {},
): Promise<ImportProgress & { changedIds: number[] }> {
  const batchSize = options.batchSize ?? 500;
  const progress: ImportProgress = { done: 0, total: records.length, inserted: 0, updated: 0, unchanged: 0 };
  const changedIds: number[] = [];
  for (let start = 0; start < records.length; start += batchSize) {
    const batch = records.slice(start, start + batchSize);
    const outcomes = await transaction(async (client) => {
      const results = [];
      for (const record of batch) results.push(await upsert(client, record));
      return results;
    });
    for (const { id, outcome } of outcomes) {
      progress[outcome] += 1;
      if (outcome !== 'unchanged') changedIds.push(id);
    }
    progress.done += batch.length;
    options.onProgress?.({ ...progress });
  }
  return { ...progress, changedIds };
}
