import Type from 'typebox';

/** Text without NUL (PostgreSQL refuses it in text values). */
export const SafeText = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ ...options, pattern: '^[^\\u0000]*$' });

/** Anime types as the catalogue stores them (MyAnimeList's series types, lower case). */
export const ANIME_TYPES = ['tv', 'movie', 'ova', 'ona', 'special', 'unknown'] as const;
export type AnimeType = (typeof ANIME_TYPES)[number];

/**
 * The name of each type as people read it — MyAnimeList's own spelling, so the same table labels the
 * site's pages and writes `series_type` in MAL XML exports.
 */
export const ANIME_TYPE_LABEL: Readonly<Record<AnimeType, string>> = {
  tv: 'TV',
  movie: 'Movie',
  ova: 'OVA',
  ona: 'ONA',
  special: 'Special',
  unknown: 'Unknown',
};

/** The shared anime-id parser (functions/lib/anime-id.ts), re-exported for the tracking functions. */
export { parseAnimeId } from '../anime-id.ts';
