import Type, { type Static } from 'typebox';
import { AnimeId, Timestamp, UserId } from './common.ts';

/** `dev.isekai.rating.removed.v1`: a user deleted their rating of an anime. */
export const RatingRemovedV1 = Type.Object(
  {
    animeId: AnimeId,
    userId: UserId,
    previousScore: Type.Integer({ minimum: 1, maximum: 10, description: 'The score that was removed.' }),
    hadReview: Type.Boolean({ description: 'Whether the removed rating carried a written review.' }),
    aggregate: Type.Object(
      {
        count: Type.Integer({ minimum: 0 }),
        mean: Type.Number({ minimum: 0, maximum: 10, description: '0 when no rating is left.' }),
      },
      { additionalProperties: false, description: 'The anime’s aggregate after the removal.' },
    ),
    removedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type RatingRemovedV1 = Static<typeof RatingRemovedV1>;
