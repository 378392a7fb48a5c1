import Type, { type Static } from 'typebox';
import { AnimeId, Episode, Timestamp } from './common.ts';

/** `dev.isekai.episode.aired.v1` (inbound): an integrator tells the platform an episode has aired. */
export const EpisodeAiredV1 = Type.Object(
  {
    animeId: AnimeId,
    episode: Episode,
    title: Type.Optional(Type.String({ maxLength: 300 })),
    airedAt: Timestamp,
    broadcaster: Type.Optional(Type.String({ maxLength: 100, examples: ['Tokyo MX'] })),
  },
  { additionalProperties: false },
);
export type EpisodeAiredV1 = Static<typeof EpisodeAiredV1>;
