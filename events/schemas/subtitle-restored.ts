import Type, { type Static } from 'typebox';
import { AnimeId, Episode, SubtitleId, Timestamp, UserId } from './common.ts';

/** `dev.isekai.subtitle.restored.v1`: a moderator restored a hidden subtitle (searchable and downloadable again). */
export const SubtitleRestoredV1 = Type.Object(
  {
    subtitleId: SubtitleId,
    animeId: AnimeId,
    episode: Episode,
    uploaderId: UserId,
    restoredBy: UserId,
    note: Type.Optional(Type.String({ maxLength: 1000 })),
    restoredAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleRestoredV1 = Static<typeof SubtitleRestoredV1>;
