import Type, { type Static } from 'typebox';
import { AnimeId, Episode, Language, SubtitleId, Timestamp, UserId } from './common.ts';

/** Subtitle file formats the database stores. */
export const SubtitleFormat = Type.Union([
  Type.Literal('ass'),
  Type.Literal('ssa'),
  Type.Literal('srt'),
  Type.Literal('vtt'),
]);

/** `dev.isekai.subtitle.uploaded.v1`: a subtitle was stored and is downloadable. */
export const SubtitleUploadedV1 = Type.Object(
  {
    subtitleId: SubtitleId,
    animeId: AnimeId,
    episode: Episode,
    language: Language,
    format: SubtitleFormat,
    uploaderId: UserId,
    sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    sizeBytes: Type.Integer({ minimum: 1 }),
    uploadedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type SubtitleUploadedV1 = Static<typeof SubtitleUploadedV1>;
