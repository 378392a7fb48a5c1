import Type from 'typebox';

/** Text without NUL (PostgreSQL refuses it in text values). */
export const SafeText = (options: { minLength?: number; maxLength: number }) =>
  Type.String({ ...options, pattern: '^[^\\u0000]*$' });

/** The shared anime-id parser (functions/lib/anime-id.ts), re-exported for the tracking functions. */
export { parseAnimeId } from '../anime-id.ts';
