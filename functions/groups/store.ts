import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { Conflict, Forbidden, Gone, NotFound } from '../lib/errors.ts';
import { newEvent } from '../lib/events/new-event.ts';
import { enqueue } from '../lib/events/outbox.ts';
import type { Identity } from '../lib/http/types.ts';
import { isWebUrl } from '../lib/web-url.ts';

export const SOURCE = '/functions/groups';
/** The rule a last leader's removal breaks (named in the 409). */
export const LEADER_RULE = 'a group always keeps a leader: name another leader first';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A client's id as a UUID, else a 404 naming what was asked for. */
export function uuidOf(id: string, what: string): string {
  if (!UUID.test(id)) throw new NotFound(`no ${what} ${id}`);
  return id.toLowerCase();
}

export interface GroupRow {
  id: string;
  slug: string;
  name: string;
}

/** A group by slug (locked `for update` when `lock`), else 404. */
export async function groupBySlug(tx: pg.ClientBase, slug: string, lock = false): Promise<GroupRow> {
  const { rows } = await tx.query<GroupRow>(
    `select id, slug, name from fansub_groups where slug = $1${lock ? ' for update' : ''}`,
    [slug],
  );
  if (!rows[0]) throw new NotFound(`no group ${slug}`);
  return rows[0];
}

/** The caller's roles in a group ([] when not a member). */
export async function rolesOf(tx: pg.ClientBase, groupId: string, userId: string): Promise<string[]> {
  const { rows } = await tx.query<{ roles: string[] }>(
    'select roles from group_members where group_id = $1 and user_id = $2',
    [groupId, userId],
  );
  return rows[0]?.roles ?? [];
}

/** 403 unless the caller leads the group. */
export async function requireLeader(tx: pg.ClientBase, group: GroupRow, identity: Identity): Promise<void> {
  if (!(await rolesOf(tx, group.id, identity.sub)).includes('leader'))
    throw new Forbidden(`only a leader of ${group.slug} may do this`);
}

/** 403 unless the caller is a member. */
export async function requireMember(tx: pg.ClientBase, group: GroupRow, identity: Identity): Promise<void> {
  if ((await rolesOf(tx, group.id, identity.sub)).length === 0)
    throw new Forbidden(`only members of ${group.slug} may do this`);
}

/** 409 naming the rule when the group would be left without a leader. Call with the group row locked. */
export async function keepALeader(tx: pg.ClientBase, groupId: string, leaving: string): Promise<void> {
  const { rows } = await tx.query<{ n: number }>(
    `select count(*)::int as n from group_members
      where group_id = $1 and user_id <> $2 and 'leader' = any(roles)`,
    [groupId, leaving],
  );
  if ((rows[0]?.n ?? 0) === 0) throw new Conflict(LEADER_RULE);
}

const ref = (g: GroupRow) => ({ groupId: g.id, groupSlug: g.slug, groupName: g.name });

/**
 * Put a group event into the outbox, in the caller's transaction (subject: the group id, or `subject`).
 * `newEvent` fills id, time, source, dataschema and the request's traceparent, and validates it.
 */
export function groupEvent(
  tx: pg.ClientBase,
  group: GroupRow,
  type: string,
  data: Record<string, unknown>,
  subject: string = group.id,
): Promise<CloudEventV1<unknown>> {
  return enqueue(tx, newEvent(`dev.isekai.group.${type}.v1`, { ...ref(group), ...data }, { subject }));
}

/**
 * `group.project.updated` for one project (subject: its anime id): the status after the change, what changed
 * (`created` | `status` | `episode`), the episode just released (or null), and when.
 */
export function projectUpdated(
  tx: pg.ClientBase,
  group: GroupRow,
  project: { readonly id: string; readonly animeId: number; readonly language: string },
  change: {
    status: string;
    change: 'created' | 'status' | 'episode';
    releasedEpisode?: number | null;
    updatedAt?: string;
  },
): Promise<CloudEventV1<unknown>> {
  return groupEvent(
    tx,
    group,
    'project.updated',
    {
      projectId: project.id,
      animeId: project.animeId,
      language: project.language,
      status: change.status,
      change: change.change,
      releasedEpisode: change.releasedEpisode ?? null,
      updatedAt: change.updatedAt ?? new Date().toISOString(),
    },
    String(project.animeId),
  );
}

export interface InvitationRow {
  id: string;
  group_id: string;
  slug: string;
  name: string;
  user_id: string;
  roles: string[];
  status: 'pending' | 'accepted' | 'declined' | 'revoked';
  created_at: Date;
  answered_at: Date | null;
}

export const invitationView = (r: InvitationRow) => ({
  id: r.id,
  groupSlug: r.slug,
  userId: r.user_id,
  roles: r.roles,
  status: r.status,
  createdAt: r.created_at.toISOString(),
  answeredAt: r.answered_at ? r.answered_at.toISOString() : null,
});

/** An invitation, locked for the answer; 404 when unknown or addressed to someone else. */
export async function invitationFor(tx: pg.ClientBase, id: string, userId: string): Promise<InvitationRow> {
  const { rows } = await tx.query<InvitationRow>(
    `select i.id, i.group_id, g.slug, g.name, i.user_id, i.roles, i.status, i.created_at, i.answered_at
       from group_invitations i join fansub_groups g on g.id = i.group_id
      where i.id = $1 for update of i`,
    [uuidOf(id, 'invitation')],
  );
  const row = rows[0];
  if (!row || row.user_id !== userId) throw new NotFound(`no invitation ${id} for you`);
  return row;
}

/**
 * Answer an invitation as its invitee. The same answer again is a no-op (idempotent: no new event);
 * an invitation closed otherwise (declined, accepted, withdrawn) is 410 Gone with what happened to it.
 */
export async function answerInvitation(
  tx: pg.ClientBase,
  id: string,
  identity: Identity,
  answer: 'accepted' | 'declined',
): Promise<{ invitation: InvitationRow; events: CloudEventV1<unknown>[] }> {
  const inv = await invitationFor(tx, id, identity.sub);
  if (inv.status === answer) return { invitation: inv, events: [] };
  if (inv.status !== 'pending') {
    const what = inv.status === 'revoked' ? 'was withdrawn by the group' : `was already ${inv.status}`;
    throw new Gone(`this invitation to ${inv.slug} ${what}: it can no longer be ${answer}`);
  }
  const group: GroupRow = { id: inv.group_id, slug: inv.slug, name: inv.name };
  const { rows } = await tx.query<InvitationRow>(
    `update group_invitations set status = $2, answered_at = now() where id = $1
     returning id, group_id, $3::text as slug, $4::text as name, user_id, roles, status, created_at, answered_at`,
    [inv.id, answer, inv.slug, inv.name],
  );
  const updated = rows[0] as InvitationRow;
  const at = (updated.answered_at ?? new Date()).toISOString();
  const events = [
    await groupEvent(tx, group, 'invitation.answered', {
      invitationId: inv.id,
      userId: inv.user_id,
      answer,
      answeredAt: at,
    }),
  ];
  if (answer === 'accepted') {
    await tx.query(
      `insert into group_members (group_id, user_id, roles) values ($1, $2, $3)
       on conflict (group_id, user_id) do update set roles = (
         select array_agg(distinct r) from unnest(group_members.roles || excluded.roles) r)`,
      [inv.group_id, inv.user_id, inv.roles],
    );
    events.push(
      await groupEvent(tx, group, 'member.joined', { userId: inv.user_id, roles: inv.roles, joinedAt: at }),
    );
  }
  return { invitation: updated, events };
}

/** The whole group page (members, projects with per-episode progress, followers). */
export async function readGroup(q: pg.ClientBase | pg.Pool, slug: string) {
  const { rows } = await q.query(
    `select id, slug, name, description, links, languages, created_at,
            (select count(*)::int from group_followers f where f.group_id = g.id) as followers
       from fansub_groups g where slug = $1`,
    [slug],
  );
  const g = rows[0];
  if (!g) throw new NotFound(`no group ${slug}`);
  const members = await q.query(
    `select m.user_id, u.username, m.roles, m.joined_at from group_members m join users u on u.id = m.user_id
      where m.group_id = $1 order by 'leader' = any(m.roles) desc, m.joined_at, m.user_id`,
    [g.id],
  );
  const projects = await q.query<{ id: string }>(
    'select id from group_projects where group_id = $1 order by created_at, id',
    [g.id],
  );
  return {
    id: g.id as string,
    slug: g.slug as string,
    name: g.name as string,
    description: g.description as string,
    // A link stored before WebUrl was the rule (a `javascript:` one) is never served.
    links: (g.links as { label: string; url: string }[]).filter((link) => isWebUrl(link.url)),
    languages: g.languages as string[],
    members: members.rows.map((m) => memberView(m)),
    projects: await Promise.all(projects.rows.map((p) => readProject(q, p.id))),
    followers: g.followers as number,
    createdAt: (g.created_at as Date).toISOString(),
  };
}

export const memberView = (m: { user_id: string; username: string; roles: string[]; joined_at: Date }) => ({
  userId: m.user_id,
  username: m.username,
  roles: m.roles as never,
  joinedAt: m.joined_at.toISOString(),
});

/** One project with its episodes' progress. */
export async function readProject(q: pg.ClientBase | pg.Pool, id: string) {
  const { rows } = await q.query(
    `select p.id, p.anime_id, a.title, p.language, p.status, p.updated_at
       from group_projects p join anime a on a.id = p.anime_id where p.id = $1`,
    [id],
  );
  const p = rows[0];
  if (!p) throw new NotFound(`no project ${id}`);
  const eps = await q.query(
    'select episode, stage, updated_at from group_project_episodes where project_id = $1 order by episode',
    [id],
  );
  const episodes = eps.rows.map((e) => ({
    episode: e.episode as number,
    stage: e.stage as never,
    updatedAt: (e.updated_at as Date).toISOString(),
  }));
  return {
    id: p.id as string,
    animeId: p.anime_id as number,
    animeTitle: p.title as string,
    language: p.language as string,
    status: p.status as never,
    episodes,
    releasedEpisodes: episodes.filter((e) => (e.stage as string) === 'released').length,
    updatedAt: (p.updated_at as Date).toISOString(),
  };
}

/** A project of this group, locked; 404 otherwise. */
export async function projectOf(
  tx: pg.ClientBase,
  group: GroupRow,
  projectId: string,
): Promise<{ id: string; anime_id: number; language: string; status: string }> {
  const { rows } = await tx.query(
    'select id, anime_id, language, status from group_projects where id = $1 and group_id = $2 for update',
    [uuidOf(projectId, 'project'), group.id],
  );
  if (!rows[0]) throw new NotFound(`no project ${projectId} in ${group.slug}`);
  return rows[0];
}

/** Membership of a user in a group with their roles, for credits (upload-subtitle); undefined if not a member. */
export async function creditOf(
  q: pg.ClientBase | pg.Pool,
  groupId: string,
  userId: string,
): Promise<{ group: GroupRow; roles: string[] } | undefined> {
  if (!UUID.test(groupId)) return undefined;
  const { rows } = await q.query<GroupRow & { roles: string[] }>(
    `select g.id, g.slug, g.name, m.roles from fansub_groups g
       join group_members m on m.group_id = g.id and m.user_id = $2 where g.id = $1`,
    [groupId, userId],
  );
  const r = rows[0];
  return r ? { group: { id: r.id, slug: r.slug, name: r.name }, roles: r.roles } : undefined;
}
