import Type, { type Static } from 'typebox';
import { pagingQuery } from '../http/paging.ts';
import { SafeText } from './anime.ts';

const Score = Type.Integer({ minimum: 1, maximum: 10 });

/** Longest review, in characters (stored as text; clients render it escaped). */
export const REVIEW_MAX = 10_000;

const Aspects = Type.Object(
  {
    animation: Type.Optional(Type.Union([Score, Type.Null()])),
    music: Type.Optional(Type.Union([Score, Type.Null()])),
    plot: Type.Optional(Type.Union([Score, Type.Null()])),
    characters: Type.Optional(Type.Union([Score, Type.Null()])),
  },
  { additionalProperties: false },
);
const Review = Type.Union([SafeText({ maxLength: REVIEW_MAX }), Type.Null()]);

/**
 * PUT /anime/:id/rating — the whole rating: what is left out is cleared (no aspects → every aspect
 * null; no review → none).
 */
export const RatingInput = Type.Object(
  { score: Score, aspects: Type.Optional(Aspects), review: Type.Optional(Review) },
  { additionalProperties: false },
);
export type RatingInput = Static<typeof RatingInput>;

/**
 * PATCH /anime/:id/rating — a partial change merged into the rating (RFC 7396 style): a field left out
 * keeps its value, `null` clears it; `aspects` merges aspect by aspect.
 */
export const RatingPatch = Type.Object(
  { score: Type.Optional(Score), aspects: Type.Optional(Aspects), review: Type.Optional(Review) },
  { additionalProperties: false },
);
export type RatingPatch = Static<typeof RatingPatch>;

/** PUT /anime/:id/episodes/:episode/rating */
export const EpisodeRatingInput = Type.Object({ score: Score }, { additionalProperties: false });
export type EpisodeRatingInput = Static<typeof EpisodeRatingInput>;

/** GET /anime/:id/reviews */
export const ReviewsQuery = Type.Object(
  {
    ...pagingQuery({ maxPerPage: 50, defaultPerPage: 20 }),
  },
  { additionalProperties: false },
);
export type ReviewsQuery = Static<typeof ReviewsQuery>;
