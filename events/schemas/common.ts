import Type from 'typebox';

/**
 * An anime's id in the catalogue: a positive integer, as in every API (`GET /anime/1`). The CloudEvent
 * `subject`, where present, is this id as a string.
 */
export const AnimeId = Type.Integer({
  minimum: 1,
  maximum: 2_147_483_647,
  description:
    'Catalogue id of the anime (a positive integer; the CloudEvent subject is its decimal string).',
  examples: [1],
});

/** A user's id: the Keycloak `sub` of their token. */
export const UserId = Type.String({
  minLength: 1,
  maxLength: 64,
  description: 'Keycloak subject (`sub`) of the user.',
  examples: ['5f0c1b7e-8c55-4f4b-9f4e-2b8a9a4d6c10'],
});

/** An RFC 3339 timestamp in UTC, ending in `Z` (the one timestamp style of every Isekai API and event). */
export const Timestamp = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
  description: 'RFC 3339 date-time in UTC, ending in Z.',
  examples: ['2026-11-23T16:00:00Z'],
});

/** Episode number within the anime (1-based). */
export const Episode = Type.Integer({ minimum: 1, maximum: 10000 });

/** BCP 47 language tag of a subtitle. */
export const Language = Type.String({
  pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$',
  examples: ['en', 'pt-BR'],
});

/** Id of a subtitle in the subtitle database. */
export const SubtitleId = Type.String({
  minLength: 1,
  maxLength: 64,
  examples: ['6745f0c2a1b2c3d4e5f60718'],
});
