import Type, { type Static } from 'typebox';
import { AnimeId, Episode, SubtitleId, Timestamp, UserId } from './common.ts';
import { ReportReason } from './subtitle-reported.ts';

/** `dev.isekai.subtitle.hidden.v1`: a moderator hid a subtitle (reversible: it is out of search and downloads until restored). */
export const SubtitleHiddenV1 = Type.Object(
  {
    subtitleId: SubtitleId,
    animeId: AnimeId,
    episode: Episode,
    uploaderId: UserId,
    hiddenBy: UserId,
    note: Type.Optional(Type.String({ maxLength: 1000 })),
    /**
     * The categories of the open reports this decision resolved (never the reporters' own words); left out
     * when none was open, and by producers older than the field.
     */
    reasons: Type.Optional(Type.Array(ReportReason, { minItems: 1, maxItems: 7, uniqueItems: true })),
    hiddenAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleHiddenV1 = Static<typeof SubtitleHiddenV1>;
