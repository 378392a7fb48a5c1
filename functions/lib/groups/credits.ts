import type pg from 'pg';

/** A group's credit on a subtitle: the group and its members' roles when the subtitle was uploaded. */
export interface GroupCredit {
  readonly id: string;
  readonly slug: string;
  readonly name: string;
  readonly members: readonly {
    readonly userId: string;
    readonly username: string;
    readonly roles: readonly string[];
  }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The credit of group `groupId` for an upload by `userId` (PostgreSQL tables of functions/groups), or
 * undefined when the group does not exist or the user is not one of its members (the upload is then
 * refused: only members upload for a group).
 */
export async function groupCredit(
  q: { query: <R extends pg.QueryResultRow>(text: string, values?: unknown[]) => Promise<pg.QueryResult<R>> },
  groupId: string,
  userId: string,
): Promise<GroupCredit | undefined> {
  if (!UUID.test(groupId)) return undefined;
  const { rows } = await q.query<{
    id: string;
    slug: string;
    name: string;
    user_id: string;
    username: string;
    roles: string[];
  }>(
    `select g.id, g.slug, g.name, m.user_id, u.username, m.roles
       from fansub_groups g join group_members m on m.group_id = g.id join users u on u.id = m.user_id
      where g.id = $1 order by 'leader' = any(m.roles) desc, m.joined_at, m.user_id`,
    [groupId.toLowerCase()],
  );
  const first = rows[0];
  if (!first || !rows.some((r) => r.user_id === userId)) return undefined;
  return {
    id: first.id,
    slug: first.slug,
    name: first.name,
    members: rows.map((r) => ({ userId: r.user_id, username: r.username, roles: r.roles })),
  };
}
