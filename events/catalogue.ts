/**
 * The event catalogue: every CloudEvent type Isekai emits or accepts, its `data` schema (TypeBox, the
 * single source: JSON Schema files, the AsyncAPI document and TypeScript types all come from here),
 * who produces it, and an example. `node events/generate.ts` writes schemas/json/ and
 * asyncapi.yaml from this file; a unit test fails when they are stale.
 */
import type { TSchema } from 'typebox';
import { EpisodeAiredV1 } from './schemas/episode-aired.ts';
import { EpisodeRatedV1 } from './schemas/episode-rated.ts';
import {
  GroupInvitationAnsweredV1,
  GroupInvitedV1,
  GroupMemberJoinedV1,
  GroupMemberLeftV1,
  GroupProjectUpdatedV1,
} from './schemas/group.ts';
import { LibraryUpdatedV1 } from './schemas/library-updated.ts';
import { RatingRemovedV1 } from './schemas/rating-removed.ts';
import { RatingSubmittedV1 } from './schemas/rating-submitted.ts';
import { SubtitleHiddenV1 } from './schemas/subtitle-hidden.ts';
import { SubtitleRemovedV1 } from './schemas/subtitle-removed.ts';
import { SubtitleReportedV1 } from './schemas/subtitle-reported.ts';
import { SubtitleRestoredV1 } from './schemas/subtitle-restored.ts';
import { SubtitleUploadedV1 } from './schemas/subtitle-uploaded.ts';

export type {
  EpisodeAiredV1,
  EpisodeRatedV1,
  GroupInvitationAnsweredV1,
  GroupInvitedV1,
  GroupMemberJoinedV1,
  GroupMemberLeftV1,
  GroupProjectUpdatedV1,
  LibraryUpdatedV1,
  RatingRemovedV1,
  RatingSubmittedV1,
  SubtitleHiddenV1,
  SubtitleRemovedV1,
  SubtitleReportedV1,
  SubtitleRestoredV1,
  SubtitleUploadedV1,
};

/** Where `dataschema` URIs point (the JSON files under events/schemas/json, published with the docs). */
export const SCHEMA_BASE = 'https://isekai.dev/events/schemas/';

export interface EventSpec {
  /** Reverse-DNS, versioned CloudEvents `type`. */
  readonly type: string;
  readonly summary: string;
  /** outbound: Isekai publishes it; inbound: integrators publish it to the integrator ingress. */
  readonly direction: 'outbound' | 'inbound';
  /** The producing function (`source` is `/functions/<producer>`), or `integrator`. */
  readonly producer: string;
  readonly data: TSchema;
  /**
   * Whether `subject` (the anime id, as a string) must be present. CloudEvents 1.0 makes it optional:
   * Isekai's own events always carry it; integrators may leave it out (it is derived from data.animeId).
   */
  readonly subjectRequired: boolean;
  readonly example: Readonly<Record<string, unknown>>;
}

const at = '2026-11-23T16:00:00Z';
const user = '5f0c1b7e-8c55-4f4b-9f4e-2b8a9a4d6c10';
const group = '0b7f1c1e-3d2a-4c1b-9a51-6f7e8d9c0a1b';
const sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export const EVENTS: readonly EventSpec[] = [
  {
    type: 'dev.isekai.rating.submitted.v1',
    summary: 'A user rated an anime (a first rating or a changed one).',
    direction: 'outbound',
    producer: 'rate-anime',
    data: RatingSubmittedV1,
    subjectRequired: true,
    example: {
      animeId: 1,
      userId: user,
      score: 9,
      previousScore: null,
      hasReview: true,
      aggregate: { count: 1204, mean: 8.71 },
      ratedAt: at,
    },
  },
  {
    type: 'dev.isekai.rating.removed.v1',
    summary: 'A user deleted their rating of an anime.',
    direction: 'outbound',
    producer: 'rate-anime',
    data: RatingRemovedV1,
    subjectRequired: true,
    example: {
      animeId: 1,
      userId: user,
      previousScore: 9,
      hadReview: false,
      aggregate: { count: 1203, mean: 8.71 },
      removedAt: at,
    },
  },
  {
    type: 'dev.isekai.episode.rated.v1',
    summary: 'A user rated one episode, changed that score, or removed it (score null).',
    direction: 'outbound',
    producer: 'rate-anime',
    data: EpisodeRatedV1,
    subjectRequired: true,
    example: {
      animeId: 1,
      userId: user,
      episode: 5,
      score: 10,
      previousScore: null,
      aggregate: { count: 312, mean: 9.12 },
      ratedAt: at,
    },
  },
  {
    type: 'dev.isekai.library.updated.v1',
    summary: 'An entry of a user’s list was added, changed or removed.',
    direction: 'outbound',
    producer: 'library',
    data: LibraryUpdatedV1,
    subjectRequired: true,
    example: {
      animeId: 1,
      userId: user,
      change: 'updated',
      status: 'watching',
      progress: 12,
      rewatchCount: 0,
      updatedAt: at,
    },
  },
  {
    type: 'dev.isekai.subtitle.uploaded.v1',
    summary: 'A subtitle was stored and can be downloaded.',
    direction: 'outbound',
    producer: 'upload-subtitle',
    data: SubtitleUploadedV1,
    subjectRequired: true,
    example: {
      subtitleId: '6745f0c2a1b2c3d4e5f60718',
      animeId: 1,
      episode: 5,
      language: 'en',
      format: 'ass',
      uploaderId: user,
      sha256: sha,
      sizeBytes: 48213,
      uploadedAt: at,
    },
  },
  {
    type: 'dev.isekai.subtitle.reported.v1',
    summary: 'A user reported a subtitle to the moderators.',
    direction: 'outbound',
    producer: 'subtitles',
    data: SubtitleReportedV1,
    subjectRequired: true,
    example: {
      reportId: 'r-81f2',
      subtitleId: '6745f0c2a1b2c3d4e5f60718',
      animeId: 1,
      episode: 5,
      uploaderId: user,
      reporterId: 'a1d4c3e2-0000-4000-8000-000000000001',
      reason: 'out_of_sync',
      reportedAt: at,
    },
  },
  {
    type: 'dev.isekai.subtitle.removed.v1',
    summary: 'A subtitle was taken down by a moderator or its uploader.',
    direction: 'outbound',
    producer: 'subtitles',
    data: SubtitleRemovedV1,
    subjectRequired: true,
    example: {
      subtitleId: '6745f0c2a1b2c3d4e5f60718',
      animeId: 1,
      episode: 5,
      uploaderId: user,
      removedBy: 'a1d4c3e2-0000-4000-8000-000000000002',
      reason: 'moderation',
      removedAt: at,
    },
  },
  {
    type: 'dev.isekai.subtitle.hidden.v1',
    summary: 'A moderator hid a subtitle: out of search and downloads until restored.',
    direction: 'outbound',
    producer: 'subtitles',
    data: SubtitleHiddenV1,
    subjectRequired: true,
    example: {
      subtitleId: '6745f0c2a1b2c3d4e5f60718',
      animeId: 1,
      episode: 5,
      uploaderId: user,
      hiddenBy: 'a1d4c3e2-0000-4000-8000-000000000002',
      note: 'Checking the reports.',
      reasons: ['out_of_sync'],
      hiddenAt: at,
    },
  },
  {
    type: 'dev.isekai.subtitle.restored.v1',
    summary: 'A moderator restored a hidden subtitle: searchable and downloadable again.',
    direction: 'outbound',
    producer: 'subtitles',
    data: SubtitleRestoredV1,
    subjectRequired: true,
    example: {
      subtitleId: '6745f0c2a1b2c3d4e5f60718',
      animeId: 1,
      episode: 5,
      uploaderId: user,
      restoredBy: 'a1d4c3e2-0000-4000-8000-000000000002',
      restoredAt: at,
    },
  },
  {
    type: 'dev.isekai.group.invited.v1',
    summary: 'A group leader invited a user to join a fansub group (subject: the group id).',
    direction: 'outbound',
    producer: 'groups',
    data: GroupInvitedV1,
    subjectRequired: true,
    example: {
      groupId: group,
      groupSlug: 'moonlight-subs',
      groupName: 'Moonlight Subs',
      invitationId: '7d3e0c55-1f0a-4f7e-8d0b-2c5b6a7e9f10',
      userId: user,
      invitedBy: 'a1d4c3e2-0000-4000-8000-000000000002',
      roles: ['translator'],
      invitedAt: at,
    },
  },
  {
    type: 'dev.isekai.group.invitation.answered.v1',
    summary: 'An invitation to a fansub group was accepted, declined or revoked (subject: the group id).',
    direction: 'outbound',
    producer: 'groups',
    data: GroupInvitationAnsweredV1,
    subjectRequired: true,
    example: {
      groupId: group,
      groupSlug: 'moonlight-subs',
      groupName: 'Moonlight Subs',
      invitationId: '7d3e0c55-1f0a-4f7e-8d0b-2c5b6a7e9f10',
      userId: user,
      answer: 'accepted',
      answeredAt: at,
    },
  },
  {
    type: 'dev.isekai.group.member.joined.v1',
    summary: 'A user joined a fansub group (subject: the group id).',
    direction: 'outbound',
    producer: 'groups',
    data: GroupMemberJoinedV1,
    subjectRequired: true,
    example: {
      groupId: group,
      groupSlug: 'moonlight-subs',
      groupName: 'Moonlight Subs',
      userId: user,
      roles: ['translator'],
      joinedAt: at,
    },
  },
  {
    type: 'dev.isekai.group.member.left.v1',
    summary: 'A member left a fansub group or a leader removed them (subject: the group id).',
    direction: 'outbound',
    producer: 'groups',
    data: GroupMemberLeftV1,
    subjectRequired: true,
    example: {
      groupId: group,
      groupSlug: 'moonlight-subs',
      groupName: 'Moonlight Subs',
      userId: user,
      removedBy: null,
      leftAt: at,
    },
  },
  {
    type: 'dev.isekai.group.project.updated.v1',
    summary: "A fansub group's translation project was created, changed status or released an episode.",
    direction: 'outbound',
    producer: 'groups',
    data: GroupProjectUpdatedV1,
    subjectRequired: true,
    example: {
      groupId: group,
      groupSlug: 'moonlight-subs',
      groupName: 'Moonlight Subs',
      projectId: '3c9a2b10-5e4d-4c3b-8a29-1f0e9d8c7b6a',
      animeId: 1,
      language: 'en',
      status: 'in_progress',
      change: 'episode',
      releasedEpisode: 6,
      updatedAt: at,
    },
  },
  {
    type: 'dev.isekai.episode.aired.v1',
    summary: 'An integrator reports that an episode has aired.',
    direction: 'inbound',
    producer: 'integrator',
    data: EpisodeAiredV1,
    subjectRequired: false,
    example: { animeId: 1, episode: 6, airedAt: at, broadcaster: 'Tokyo MX' },
  },
];

const byType = new Map(EVENTS.map((e) => [e.type, e]));

/** The catalogue entry for `type`, or undefined for a type Isekai does not know. */
export function eventSpec(type: string): EventSpec | undefined {
  return byType.get(type);
}

/** `dataschema` URI of a type's JSON Schema. */
export function dataSchemaUri(type: string): string {
  return `${SCHEMA_BASE}${type}.schema.json`;
}
