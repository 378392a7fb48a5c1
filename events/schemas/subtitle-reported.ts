import Type, { type Static } from 'typebox';
import { AnimeId, Episode, SubtitleId, Timestamp, UserId } from './common.ts';

/** Why a subtitle was reported. */
export const ReportReason = Type.Union([
  Type.Literal('wrong_anime'),
  Type.Literal('wrong_episode'),
  Type.Literal('out_of_sync'),
  Type.Literal('bad_quality'),
  Type.Literal('spam'),
  Type.Literal('copyright'),
  Type.Literal('other'),
]);

/** `dev.isekai.subtitle.reported.v1`: a user reported a subtitle to the moderators. */
export const SubtitleReportedV1 = Type.Object(
  {
    reportId: Type.String({ minLength: 1, maxLength: 64 }),
    subtitleId: SubtitleId,
    animeId: AnimeId,
    episode: Episode,
    uploaderId: UserId,
    reporterId: UserId,
    reason: ReportReason,
    comment: Type.Optional(Type.String({ maxLength: 1000 })),
    reportedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleReportedV1 = Static<typeof SubtitleReportedV1>;
