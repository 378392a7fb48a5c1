import Type, { type Static } from 'typebox';
import { AnimeId, Episode, SubtitleId, Timestamp, UserId } from './common.ts';

/** `dev.isekai.subtitle.hidden.v1`: a moderator hid a subtitle (reversible: it is out of search and downloads until restored). */
export const SubtitleHiddenV1 = Type.Object(
  {
    subtitleId: SubtitleId,
    animeId: AnimeId,
    episode: Episode,
    uploaderId: UserId,
    hiddenBy: UserId,
    note: Type.Optional(Type.String({ maxLength: 1000 })),
    hiddenAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleHiddenV1 = Static<typeof SubtitleHiddenV1>;
