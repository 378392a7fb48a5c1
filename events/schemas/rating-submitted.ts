import Type, { type Static } from 'typebox';
import { AnimeId, Timestamp, UserId } from './common.ts';

/** `dev.isekai.rating.submitted.v1`: a user rated an anime (new or changed rating). */
export const RatingSubmittedV1 = Type.Object(
  {
    animeId: AnimeId,
    userId: UserId,
    score: Type.Integer({ minimum: 1, maximum: 10, description: 'The overall score, 1–10.' }),
    previousScore: Type.Union([Type.Integer({ minimum: 1, maximum: 10 }), Type.Null()], {
      description: 'The score before this change, or null for a first rating.',
    }),
    hasReview: Type.Boolean({ description: 'Whether the rating carries a written review.' }),
    aggregate: Type.Object(
      {
        count: Type.Integer({ minimum: 0 }),
        mean: Type.Number({ minimum: 0, maximum: 10 }),
      },
      { additionalProperties: false, description: 'The anime’s aggregate after this rating.' },
    ),
    ratedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type RatingSubmittedV1 = Static<typeof RatingSubmittedV1>;
