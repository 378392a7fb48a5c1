import Type, { type Static } from 'typebox';
import { AnimeId, Timestamp, UserId } from './common.ts';

/** Watch statuses (MyAnimeList's five plus rewatching). */
export const WatchStatus = Type.Union(
  ['watching', 'completed', 'on_hold', 'dropped', 'plan_to_watch', 'rewatching'].map((s) => Type.Literal(s)),
);

/** `dev.isekai.library.updated.v1`: an entry of a user's list was created, changed or removed. */
export const LibraryUpdatedV1 = Type.Object(
  {
    animeId: AnimeId,
    userId: UserId,
    change: Type.Union([Type.Literal('added'), Type.Literal('updated'), Type.Literal('removed')]),
    status: Type.Union([WatchStatus, Type.Null()], { description: 'Null when the entry was removed.' }),
    progress: Type.Integer({ minimum: 0, description: 'Episodes watched.' }),
    rewatchCount: Type.Integer({ minimum: 0 }),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type LibraryUpdatedV1 = Static<typeof LibraryUpdatedV1>;
