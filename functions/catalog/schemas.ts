import Type, { type Static } from 'typebox';
import { pagingQuery } from '../lib/http/paging.ts';
import { ANIME_TYPES, SafeText } from '../lib/tracking/anime.ts';

export const SEASONS = ['winter', 'spring', 'summer', 'fall'] as const;
export { ANIME_TYPES };
export const ANIME_STATUSES = ['finished', 'ongoing', 'upcoming', 'unknown'] as const;
export const SORTS = ['relevance', 'score', 'popularity', 'title', 'start_date'] as const;

const Paging = pagingQuery({ maxPerPage: 100, defaultPerPage: 20 });

/** GET /anime query: search, filters, sort and pagination. */
export const ListQuery = Type.Object(
  {
    q: Type.Optional(SafeText({ minLength: 1, maxLength: 200 })),
    season: Type.Optional(Type.Enum([...SEASONS])),
    year: Type.Optional(Type.Integer({ minimum: 1900, maximum: 2200 })),
    type: Type.Optional(Type.Enum([...ANIME_TYPES])),
    status: Type.Optional(Type.Enum([...ANIME_STATUSES])),
    genre: Type.Optional(SafeText({ minLength: 1, maxLength: 60 })),
    studio: Type.Optional(SafeText({ minLength: 1, maxLength: 100 })),
    sort: Type.Optional(Type.Enum([...SORTS])),
    order: Type.Optional(Type.Enum(['asc', 'desc'])),
    ...Paging,
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

/** GET /seasons/:year/:season query (the season comes from the path). */
export const SeasonQuery = Type.Object(
  {
    type: Type.Optional(Type.Enum([...ANIME_TYPES])),
    genre: Type.Optional(SafeText({ minLength: 1, maxLength: 60 })),
    sort: Type.Optional(Type.Enum([...SORTS])),
    order: Type.Optional(Type.Enum(['asc', 'desc'])),
    ...Paging,
  },
  { additionalProperties: false },
);
export type SeasonQuery = Static<typeof SeasonQuery>;
