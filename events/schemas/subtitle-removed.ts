import Type, { type Static } from 'typebox';
import { AnimeId, Episode, SubtitleId, Timestamp, UserId } from './common.ts';
import { ReportReason } from './subtitle-reported.ts';

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
    /**
     * The categories of the open reports this decision resolved (never the reporters' own words); left out
     * when none was open, and by producers older than the field.
     */
    reasons: Type.Optional(Type.Array(ReportReason, { minItems: 1, maxItems: 7, uniqueItems: true })),
    removedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleRemovedV1 = Static<typeof SubtitleRemovedV1>;
