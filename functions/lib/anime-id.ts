/** The largest anime id: catalogue ids are PostgreSQL `integer`s (int4). */
export const MAX_ANIME_ID = 2_147_483_647;

/**
 * The one anime-id parser: a catalogue id is a positive int4, written as a plain decimal (a path
 * segment, a form field, a CloudEvent subject) or given as a JSON integer. Anything else — slugs,
 * `007`, `1.0`, `-1`, out of range — is undefined: simply not an anime.
 * @example parseAnimeId('42') === 42; parseAnimeId(42) === 42; parseAnimeId('cowboy-bebop') === undefined
 */
export function parseAnimeId(raw: unknown): number | undefined {
  if (typeof raw === 'number')
    return Number.isInteger(raw) && raw >= 1 && raw <= MAX_ANIME_ID ? raw : undefined;
  if (typeof raw !== 'string' || !/^[1-9]\d{0,9}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id <= MAX_ANIME_ID ? id : undefined;
}
