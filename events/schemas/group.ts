import Type, { type Static } from 'typebox';
import { AnimeId, Episode, Language, Timestamp, UserId } from './common.ts';

/** A fansub group's id (UUID). The CloudEvent subject of group events is this id, except project events (the anime id). */
export const GroupId = Type.String({ format: 'uuid', examples: ['0b7f1c1e-3d2a-4c1b-9a51-6f7e8d9c0a1b'] });
/** A member's roles in a group. */
export const GroupRole = Type.Union([
  Type.Literal('leader'),
  Type.Literal('translator'),
  Type.Literal('editor'),
  Type.Literal('timer'),
  Type.Literal('typesetter'),
  Type.Literal('quality_checker'),
]);
const GroupRef = {
  groupId: GroupId,
  groupSlug: Type.String({ minLength: 1, maxLength: 64 }),
  groupName: Type.String({ minLength: 1, maxLength: 100 }),
};

/** `dev.isekai.group.invited.v1`: a leader invited a user to join a group. */
export const GroupInvitedV1 = Type.Object(
  {
    ...GroupRef,
    invitationId: Type.String({ format: 'uuid' }),
    userId: { ...UserId, description: 'The invited user.' },
    invitedBy: UserId,
    roles: Type.Array(GroupRole, { minItems: 1 }),
    invitedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type GroupInvitedV1 = Static<typeof GroupInvitedV1>;

/** `dev.isekai.group.invitation.answered.v1`: an invitation was accepted, declined or revoked (it is closed). */
export const GroupInvitationAnsweredV1 = Type.Object(
  {
    ...GroupRef,
    invitationId: Type.String({ format: 'uuid' }),
    userId: UserId,
    answer: Type.Union([Type.Literal('accepted'), Type.Literal('declined'), Type.Literal('revoked')]),
    answeredAt: Timestamp,
  },
  { additionalProperties: false },
);
export type GroupInvitationAnsweredV1 = Static<typeof GroupInvitationAnsweredV1>;

/** `dev.isekai.group.member.joined.v1`: a user became a member (accepted an invitation). */
export const GroupMemberJoinedV1 = Type.Object(
  { ...GroupRef, userId: UserId, roles: Type.Array(GroupRole, { minItems: 1 }), joinedAt: Timestamp },
  { additionalProperties: false },
);
export type GroupMemberJoinedV1 = Static<typeof GroupMemberJoinedV1>;

/** `dev.isekai.group.member.left.v1`: a member left, or a leader removed them (`removedBy`). */
export const GroupMemberLeftV1 = Type.Object(
  { ...GroupRef, userId: UserId, removedBy: Type.Union([UserId, Type.Null()]), leftAt: Timestamp },
  { additionalProperties: false },
);
export type GroupMemberLeftV1 = Static<typeof GroupMemberLeftV1>;

/** Statuses of a translation project. */
export const ProjectStatus = Type.Union([
  Type.Literal('planned'),
  Type.Literal('in_progress'),
  Type.Literal('released'),
  Type.Literal('stalled'),
  Type.Literal('dropped'),
]);

/**
 * `dev.isekai.group.project.updated.v1`: a translation project was created, changed status, or an episode
 * was released (`releasedEpisode`). Subject: the anime id.
 */
export const GroupProjectUpdatedV1 = Type.Object(
  {
    ...GroupRef,
    projectId: Type.String({ format: 'uuid' }),
    animeId: AnimeId,
    language: Language,
    status: ProjectStatus,
    change: Type.Union([Type.Literal('created'), Type.Literal('status'), Type.Literal('episode')]),
    releasedEpisode: Type.Union([Episode, Type.Null()], {
      description: 'The episode released by this change, else null.',
    }),
    updatedAt: Timestamp,
  },
  { additionalProperties: false },
);
export type GroupProjectUpdatedV1 = Static<typeof GroupProjectUpdatedV1>;
