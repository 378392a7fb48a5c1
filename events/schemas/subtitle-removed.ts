import Type, { type Static } from 'typebox';
import { AnimeId, Episode, SubtitleId, Timestamp, UserId } from './common.ts';

/** `dev.isekai.subtitle.removed.v1`: a subtitle was taken down (by a moderator or its uploader). */
export const SubtitleRemovedV1 = Type.Object(
  {
    subtitleId: SubtitleId,
    animeId: AnimeId,
    episode: Episode,
    uploaderId: UserId,
    removedBy: UserId,
    reason: Type.Union([Type.Literal('moderation'), Type.Literal('uploader'), Type.Literal('duplicate')]),
    note: Type.Optional(Type.String({ maxLength: 1000 })),
    removedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleRemovedV1 = Static<typeof SubtitleRemovedV1>;
