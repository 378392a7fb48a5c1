import Type from 'typebox';
import { Episode, Language } from '../../events/schemas/common.ts';
import { GroupRole, ProjectStatus } from '../../events/schemas/group.ts';
import { defineApi } from '../lib/http/contract.ts';
import { WebUrl } from '../lib/web-url.ts';

const Timestamp = Type.String({ format: 'date-time' });
const Slug = Type.String({ pattern: '^[a-z0-9]+(-[a-z0-9]+)*$', minLength: 1, maxLength: 64 });
const Roles = Type.Array(GroupRole, { minItems: 1, maxItems: 6, uniqueItems: true });
/** A link of a group page; its `url` only http(s) (WebUrl: a `javascript:` link would run in readers' pages). */
const Link = Type.Object(
  {
    label: Type.String({ minLength: 1, maxLength: 60 }),
    url: WebUrl,
  },
  { additionalProperties: false },
);
/** Episode stages of a translation project, in order; `released` is the last. */
export const Stage = Type.Union(
  ['translation', 'editing', 'timing', 'typesetting', 'quality_check', 'released'].map((s) =>
    Type.Literal(s),
  ),
);
const NoQuery = Type.Object({}, { additionalProperties: false });

/** `POST /groups` */
export const GroupInput = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    slug: Slug,
    description: Type.Optional(Type.String({ maxLength: 5000 })),
    links: Type.Optional(Type.Array(Link, { maxItems: 20 })),
    languages: Type.Optional(Type.Array(Language, { maxItems: 20, uniqueItems: true })),
  },
  { additionalProperties: false },
);
/** `PATCH /groups/:slug`: fields left out keep their value (the slug never changes). */
export const GroupPatch = Type.Partial(Type.Omit(GroupInput, ['slug']), { additionalProperties: false });

const Member = Type.Object(
  { userId: Type.String(), username: Type.String(), roles: Roles, joinedAt: Timestamp },
  { title: 'GroupMember' },
);
const EpisodeProgress = Type.Object({ episode: Episode, stage: Stage, updatedAt: Timestamp });
const Project = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    animeId: Type.Integer({ minimum: 1 }),
    animeTitle: Type.String(),
    language: Language,
    status: ProjectStatus,
    episodes: Type.Array(EpisodeProgress),
    releasedEpisodes: Type.Integer({ minimum: 0 }),
    updatedAt: Timestamp,
  },
  { title: 'GroupProject' },
);
/** A group's page: who it is, its members with their roles, its projects. */
export const Group = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    slug: Slug,
    name: Type.String(),
    description: Type.String(),
    links: Type.Array(Link),
    languages: Type.Array(Language),
    members: Type.Array(Member),
    projects: Type.Array(Project),
    followers: Type.Integer({ minimum: 0 }),
    createdAt: Timestamp,
  },
  { title: 'Group' },
);
const Invitation = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    groupSlug: Slug,
    userId: Type.String(),
    roles: Roles,
    status: Type.Union(['pending', 'accepted', 'declined', 'revoked'].map((s) => Type.Literal(s))),
    createdAt: Timestamp,
    answeredAt: Type.Union([Timestamp, Type.Null()]),
  },
  { title: 'GroupInvitation' },
);

/** groups' routes (the table the edge, edge-auth's rules and the OpenAPI document are generated from). */
export const GroupsApi = defineApi({
  createGroup: {
    method: 'POST',
    path: '/groups',
    access: 'user',
    alsoAnswers: [409],
    summary: 'Create a fansub group; the caller is its first leader (a taken slug is 409)',
    query: NoQuery,
    body: GroupInput,
    status: 201,
    response: Group,
    example: { name: 'Moonlight Subs', slug: 'moonlight-subs', languages: ['en'] },
  },
  getGroup: {
    method: 'GET',
    path: '/groups/:slug',
    access: 'public',
    summary: "A group's page: description, links, languages, members with roles, projects",
    query: NoQuery,
    response: Group,
  },
  updateGroup: {
    method: 'PATCH',
    path: '/groups/:slug',
    access: 'user',
    alsoAnswers: [403],
    summary: "Change a group's name, description, links or languages (leaders only: else 403)",
    query: NoQuery,
    body: GroupPatch,
    response: Group,
    example: { description: 'We subtitle slice-of-life shows.' },
  },
  inviteMember: {
    method: 'POST',
    path: '/groups/:slug/invitations',
    access: 'user',
    alsoAnswers: [403, 409],
    summary:
      'Invite a user with roles (leaders only); the invitee gets a notification with accept/decline actions. Inviting twice, or a member, is 409',
    query: NoQuery,
    body: Type.Object(
      { userId: Type.String({ minLength: 1, maxLength: 64 }), roles: Roles },
      {
        additionalProperties: false,
      },
    ),
    status: 201,
    response: Invitation,
    example: { userId: '5f0c1b7e-8c55-4f4b-9f4e-2b8a9a4d6c10', roles: ['translator'] },
  },
  revokeInvitation: {
    method: 'DELETE',
    path: '/groups/:slug/invitations/:id',
    access: 'user',
    alsoAnswers: [403],
    summary: 'Withdraw a pending invitation (leaders only); its actions then answer 410',
    query: NoQuery,
    status: 204,
  },
  acceptInvitation: {
    method: 'POST',
    path: '/group-invitations/:id/accept',
    access: 'user',
    alsoAnswers: [410],
    summary: 'Accept an invitation (the invitee only; idempotent). A declined or withdrawn invitation is 410',
    query: NoQuery,
    response: Invitation,
  },
  declineInvitation: {
    method: 'POST',
    path: '/group-invitations/:id/decline',
    access: 'user',
    alsoAnswers: [410],
    summary:
      'Decline an invitation (the invitee only; idempotent). An accepted or withdrawn invitation is 410',
    query: NoQuery,
    response: Invitation,
  },
  setMemberRoles: {
    method: 'PUT',
    path: '/groups/:slug/members/:userId',
    access: 'user',
    alsoAnswers: [403, 409],
    summary: "Change a member's roles (leaders only); taking the last leader's role is 409",
    query: NoQuery,
    body: Type.Object({ roles: Roles }, { additionalProperties: false }),
    response: Member,
    example: { roles: ['translator', 'editor'] },
  },
  removeMember: {
    method: 'DELETE',
    path: '/groups/:slug/members/:userId',
    access: 'user',
    alsoAnswers: [403, 409],
    summary: 'Leave a group (your own id) or remove a member (leaders only). Removing the last leader is 409',
    query: NoQuery,
    status: 204,
  },
  createProject: {
    method: 'POST',
    path: '/groups/:slug/projects',
    access: 'user',
    alsoAnswers: [403, 409],
    summary: 'Start a translation project for an anime and language (leaders only; one per pair: 409)',
    query: NoQuery,
    body: Type.Object(
      {
        animeId: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
        language: Language,
        status: Type.Optional(ProjectStatus),
      },
      { additionalProperties: false },
    ),
    status: 201,
    response: Project,
    example: { animeId: 1, language: 'en', status: 'planned' },
  },
  updateProject: {
    method: 'PATCH',
    path: '/groups/:slug/projects/:projectId',
    access: 'user',
    alsoAnswers: [403],
    summary: "Change a project's status (leaders only)",
    query: NoQuery,
    body: Type.Object({ status: ProjectStatus }, { additionalProperties: false }),
    response: Project,
    example: { status: 'in_progress' },
  },
  setEpisodeProgress: {
    method: 'PUT',
    path: '/groups/:slug/projects/:projectId/episodes/:episode',
    access: 'user',
    alsoAnswers: [403],
    summary:
      "Set the stage an episode has reached (members only); `released` tells the group's followers. An episode past the anime's last one is 400",
    query: NoQuery,
    body: Type.Object({ stage: Stage }, { additionalProperties: false }),
    response: Project,
    example: { stage: 'released' },
  },
  followGroup: {
    method: 'PUT',
    path: '/groups/:slug/follow',
    access: 'user',
    summary: 'Follow a group (idempotent): hear of its releases',
    query: NoQuery,
    status: 204,
  },
  unfollowGroup: {
    method: 'DELETE',
    path: '/groups/:slug/follow',
    access: 'user',
    summary: 'Stop following a group (idempotent)',
    query: NoQuery,
    status: 204,
  },
});
