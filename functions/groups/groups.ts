import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { ensureUser } from '../lib/data/users.ts';
import { Conflict, NotFound, ValidationFailed } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { GroupsApi } from './api.ts';
import {
  answerInvitation,
  groupBySlug,
  groupEvent,
  type InvitationRow,
  invitationView,
  keepALeader,
  memberView,
  projectOf,
  projectUpdated,
  readGroup,
  readProject,
  requireLeader,
  requireMember,
  rolesOf,
  uuidOf,
} from './store.ts';

const NO_STORE = { 'cache-control': 'private, no-store' };
const isUnique = (error: unknown) => (error as { code?: string } | undefined)?.code === '23505';

export type GroupsDeps = Pick<TrackingDeps, 'runtime' | 'db' | 'publish'>;

/**
 * groups' routes: the group page, members and roles, invitations (answered by the invitee), projects with
 * per-episode progress, followers. Every write is one transaction with its events in the outbox, published
 * after commit.
 */
export function groupsRoutes(deps: GroupsDeps): AnyRoute[] {
  const { db, publish } = deps;

  /** One transaction (events enqueued inside), then publish what committed. */
  async function write<T>(
    work: (tx: pg.PoolClient, events: CloudEventV1<unknown>[]) => Promise<T>,
  ): Promise<T> {
    const events: CloudEventV1<unknown>[] = [];
    const result = await db.transaction((tx) => work(tx, events));
    await publish(events);
    return result;
  }

  return implement(GroupsApi, {
    createGroup: async (ctx) => {
      const b = ctx.body;
      try {
        await db.transaction(async (tx) => {
          await ensureUser(tx, ctx.identity);
          const { rows } = await tx.query<{ id: string }>(
            `insert into fansub_groups (slug, name, description, links, languages, created_by)
             values ($1, $2, $3, $4, $5, $6) returning id`,
            [
              b.slug,
              b.name,
              b.description ?? '',
              JSON.stringify(b.links ?? []),
              b.languages ?? [],
              ctx.identity.sub,
            ],
          );
          await tx.query(`insert into group_members (group_id, user_id, roles) values ($1, $2, '{leader}')`, [
            rows[0]?.id,
            ctx.identity.sub,
          ]);
        });
      } catch (error) {
        if (isUnique(error)) throw new Conflict(`the slug ${b.slug} is taken`);
        throw error;
      }
      return {
        status: 201,
        headers: { location: `/groups/${b.slug}` },
        body: await readGroup(db.pool, b.slug),
      };
    },
    getGroup: async (ctx) => ({
      headers: { 'cache-control': 'public, max-age=30' },
      body: await readGroup(db.pool, ctx.params.slug),
    }),
    updateGroup: async (ctx) => {
      const b = ctx.body;
      await db.transaction(async (tx) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        await requireLeader(tx, group, ctx.identity);
        await tx.query(
          `update fansub_groups set name = coalesce($2, name), description = coalesce($3, description),
             links = coalesce($4::jsonb, links), languages = coalesce($5, languages), updated_at = now()
           where id = $1`,
          [
            group.id,
            b.name ?? null,
            b.description ?? null,
            b.links ? JSON.stringify(b.links) : null,
            b.languages ?? null,
          ],
        );
      });
      return { headers: NO_STORE, body: await readGroup(db.pool, ctx.params.slug) };
    },
    inviteMember: async (ctx) => {
      const { userId, roles } = ctx.body;
      const row = await write(async (tx, events) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        await requireLeader(tx, group, ctx.identity);
        const known = await tx.query('select 1 from users where id = $1', [userId]);
        if (known.rowCount === 0) throw new NotFound(`no user ${userId}`);
        if ((await rolesOf(tx, group.id, userId)).length > 0)
          throw new Conflict(`${userId} is already a member of ${group.slug}`);
        let inv: InvitationRow;
        try {
          await tx.query('savepoint invite');
          const { rows } = await tx.query<InvitationRow>(
            `insert into group_invitations (group_id, user_id, roles, invited_by) values ($1, $2, $3, $4)
             returning id, group_id, $5::text as slug, $6::text as name, user_id, roles, status, created_at, answered_at`,
            [group.id, userId, roles, ctx.identity.sub, group.slug, group.name],
          );
          inv = rows[0] as InvitationRow;
        } catch (error) {
          if (!isUnique(error)) throw error;
          await tx.query('rollback to savepoint invite');
          throw new Conflict(`${userId} already has a pending invitation to ${group.slug}`);
        }
        events.push(
          await groupEvent(tx, group, 'invited', {
            invitationId: inv.id,
            userId,
            invitedBy: ctx.identity.sub,
            roles,
            invitedAt: inv.created_at.toISOString(),
          }),
        );
        return inv;
      });
      return {
        status: 201,
        headers: { ...NO_STORE, location: `/group-invitations/${row.id}` },
        body: invitationView(row),
      };
    },
    revokeInvitation: async (ctx) => {
      await write(async (tx, events) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        await requireLeader(tx, group, ctx.identity);
        const { rows } = await tx.query<{ user_id: string; status: string }>(
          'select user_id, status from group_invitations where id = $1 and group_id = $2 for update',
          [uuidOf(ctx.params.id, 'invitation'), group.id],
        );
        const inv = rows[0];
        if (!inv) throw new NotFound(`no invitation ${ctx.params.id} in ${group.slug}`);
        if (inv.status !== 'pending') return;
        await tx.query(`update group_invitations set status = 'revoked', answered_at = now() where id = $1`, [
          ctx.params.id,
        ]);
        events.push(
          await groupEvent(tx, group, 'invitation.answered', {
            invitationId: ctx.params.id.toLowerCase(),
            userId: inv.user_id,
            answer: 'revoked',
            answeredAt: new Date().toISOString(),
          }),
        );
      });
      return { status: 204 };
    },
    acceptInvitation: async (ctx) => {
      const inv = await write(async (tx, events) => {
        await ensureUser(tx, ctx.identity);
        const r = await answerInvitation(tx, ctx.params.id, ctx.identity, 'accepted');
        events.push(...r.events);
        return r.invitation;
      });
      return { headers: NO_STORE, body: invitationView(inv) };
    },
    declineInvitation: async (ctx) => {
      const inv = await write(async (tx, events) => {
        const r = await answerInvitation(tx, ctx.params.id, ctx.identity, 'declined');
        events.push(...r.events);
        return r.invitation;
      });
      return { headers: NO_STORE, body: invitationView(inv) };
    },
    setMemberRoles: async (ctx) => {
      const { userId } = ctx.params;
      const roles = ctx.body.roles as string[];
      const member = await db.transaction(async (tx) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        await requireLeader(tx, group, ctx.identity);
        const current = await rolesOf(tx, group.id, userId);
        if (current.length === 0) throw new NotFound(`${userId} is not a member of ${group.slug}`);
        if (current.includes('leader') && !roles.includes('leader')) await keepALeader(tx, group.id, userId);
        const { rows } = await tx.query(
          `update group_members m set roles = $3 from users u
            where m.group_id = $1 and m.user_id = $2 and u.id = m.user_id
            returning m.user_id, u.username, m.roles, m.joined_at`,
          [group.id, userId, roles],
        );
        return memberView(rows[0]);
      });
      return { headers: NO_STORE, body: member };
    },
    removeMember: async (ctx) => {
      const { userId } = ctx.params;
      await write(async (tx, events) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        const self = userId === ctx.identity.sub;
        if (!self) await requireLeader(tx, group, ctx.identity);
        const roles = await rolesOf(tx, group.id, userId);
        if (roles.length === 0) throw new NotFound(`${userId} is not a member of ${group.slug}`);
        if (roles.includes('leader')) await keepALeader(tx, group.id, userId);
        await tx.query('delete from group_members where group_id = $1 and user_id = $2', [group.id, userId]);
        events.push(
          await groupEvent(tx, group, 'member.left', {
            userId,
            removedBy: self ? null : ctx.identity.sub,
            leftAt: new Date().toISOString(),
          }),
        );
      });
      return { status: 204 };
    },
    createProject: async (ctx) => {
      const { animeId, language, status = 'planned' } = ctx.body;
      const id = await write(async (tx, events) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        await requireLeader(tx, group, ctx.identity);
        const anime = await tx.query('select 1 from anime where id = $1', [animeId]);
        if (anime.rowCount === 0) throw new NotFound(`anime ${animeId} not found`);
        const { rows } = await tx.query<{ id: string; updated_at: Date }>(
          `insert into group_projects (group_id, anime_id, language, status) values ($1, $2, $3, $4)
           on conflict (group_id, anime_id, language) do nothing returning id, updated_at`,
          [group.id, animeId, language, status],
        );
        const row = rows[0];
        if (!row) throw new Conflict(`${group.slug} already has a ${language} project for anime ${animeId}`);
        events.push(
          await projectUpdated(
            tx,
            group,
            { id: row.id, animeId, language },
            { status, change: 'created', updatedAt: row.updated_at.toISOString() },
          ),
        );
        return row.id;
      });
      return { status: 201, headers: NO_STORE, body: await readProject(db.pool, id) };
    },
    updateProject: async (ctx) => {
      const { status } = ctx.body;
      const id = await write(async (tx, events) => {
        const group = await groupBySlug(tx, ctx.params.slug, true);
        await requireLeader(tx, group, ctx.identity);
        const p = await projectOf(tx, group, ctx.params.projectId);
        if (p.status === status) return p.id;
        await tx.query('update group_projects set status = $2, updated_at = now() where id = $1', [
          p.id,
          status,
        ]);
        events.push(
          await projectUpdated(
            tx,
            group,
            { id: p.id, animeId: p.anime_id, language: p.language },
            { status, change: 'status' },
          ),
        );
        return p.id;
      });
      return { headers: NO_STORE, body: await readProject(db.pool, id) };
    },
    setEpisodeProgress: async (ctx) => {
      const { episode } = ctx.params;
      const { stage } = ctx.body;
      const id = await write(async (tx, events) => {
        const group = await groupBySlug(tx, ctx.params.slug);
        await requireMember(tx, group, ctx.identity);
        const p = await projectOf(tx, group, ctx.params.projectId);
        await requireKnownEpisode(tx, p.anime_id, episode);
        const before = await tx.query<{ stage: string }>(
          'select stage from group_project_episodes where project_id = $1 and episode = $2',
          [p.id, episode],
        );
        await tx.query(
          `insert into group_project_episodes (project_id, episode, stage) values ($1, $2, $3)
           on conflict (project_id, episode) do update set stage = $3, updated_at = now()`,
          [p.id, episode, stage],
        );
        const released = stage === 'released' && before.rows[0]?.stage !== 'released';
        const status = p.status === 'planned' ? 'in_progress' : p.status;
        await tx.query('update group_projects set status = $2, updated_at = now() where id = $1', [
          p.id,
          status,
        ]);
        if (released || status !== p.status)
          events.push(
            await projectUpdated(
              tx,
              group,
              { id: p.id, animeId: p.anime_id, language: p.language },
              { status, change: released ? 'episode' : 'status', releasedEpisode: released ? episode : null },
            ),
          );
        return p.id;
      });
      return { headers: NO_STORE, body: await readProject(db.pool, id) };
    },
    followGroup: async (ctx) => {
      await db.transaction(async (tx) => {
        await ensureUser(tx, ctx.identity);
        const group = await groupBySlug(tx, ctx.params.slug);
        await tx.query(
          'insert into group_followers (group_id, user_id) values ($1, $2) on conflict do nothing',
          [group.id, ctx.identity.sub],
        );
      });
      return { status: 204 };
    },
    unfollowGroup: async (ctx) => {
      await db.transaction(async (tx) => {
        const group = await groupBySlug(tx, ctx.params.slug);
        await tx.query('delete from group_followers where group_id = $1 and user_id = $2', [
          group.id,
          ctx.identity.sub,
        ]);
      });
      return { status: 204 };
    },
  });
}

/**
 * Refuse an episode past the anime's last one (its `episodes` count), as library and uploads do: 400 naming
 * `/path/episode`. An unknown count (null: still airing, not yet listed) allows any episode.
 */
async function requireKnownEpisode(tx: pg.ClientBase, animeId: number, episode: number): Promise<void> {
  const { rows } = await tx.query<{ episodes: number | null }>('select episodes from anime where id = $1', [
    animeId,
  ]);
  const episodes = rows[0]?.episodes ?? null;
  if (episodes !== null && episode > episodes) {
    throw new ValidationFailed(`episode ${episode} is past the last episode (${episodes})`, {
      issues: [{ field: '/path/episode', message: `must be at most ${episodes}` }],
    });
  }
}

/** The groups function from its dependencies. */
export function createGroups(deps: GroupsDeps & Pick<TrackingDeps, 'authenticate'>): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: groupsRoutes(deps),
    authenticate: deps.authenticate,
  });
}

/** The groups function wired from the environment (what index.ts registers). */
export function groupsFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides?: WiringOverrides,
): HttpHandler {
  return createGroups(wireTracking('groups', env, overrides));
}
