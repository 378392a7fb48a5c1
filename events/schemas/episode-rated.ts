import Type, { type Static } from 'typebox';
import { AnimeId, Episode, Timestamp, UserId } from './common.ts';

const Score = Type.Integer({ minimum: 1, maximum: 10 });

/**
 * `dev.isekai.episode.rated.v1`: a user rated one episode, changed that score, or removed it (`score`
 * null). A type of its own rather than an optional `episode` on rating.submitted: consumers of that type
 * read `score` and `aggregate` as the whole anime's, and would silently miscount episode scores.
 */
export const EpisodeRatedV1 = Type.Object(
  {
    animeId: AnimeId,
    userId: UserId,
    episode: Episode,
    score: Type.Union([Score, Type.Null()], { description: 'The new score, or null when it was removed.' }),
    previousScore: Type.Union([Score, Type.Null()], {
      description: 'The score before this change, or null for a first rating.',
    }),
    aggregate: Type.Object(
      {
        count: Type.Integer({ minimum: 0 }),
        mean: Type.Number({ minimum: 0, maximum: 10, description: '0 when no rating is left.' }),
      },
      { additionalProperties: false, description: 'The episode’s aggregate after this change.' },
    ),
    ratedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type EpisodeRatedV1 = Static<typeof EpisodeRatedV1>;
