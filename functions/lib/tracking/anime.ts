import Type from 'typebox';

/** Text without NUL (PostgreSQL refuses it in text values). */
export const SafeText = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ ...options, pattern: '^[^\\u0000]*$' });

/** Parse an anime id from a path; anything that is not a positive int4 is simply not an anime. */
export function parseAnimeId(raw: string | undefined): number | undefined {
  if (raw === undefined || !/^[1-9]\d{0,9}$/.test(raw)) return undefined;
  const id = Number(raw);
  return id <= 2_147_483_647 ? id : undefined;
}
