import type pg from 'pg';
import type { Identity } from '../http/types.ts';

/**
 * Create or refresh the caller's user row from verified token claims (id = `sub`), inside the caller's
 * transaction so the rows that reference it commit with it. The display name is taken from the token only
 * on first use (users edit it afterwards). A username already held by another account gets a suffix.
 * @example await db.transaction(async (tx) => { await ensureUser(tx, ctx.identity); … });
 */
export async function ensureUser(client: pg.ClientBase, identity: Identity): Promise<void> {
  await client.query(
    `insert into users (id, username, display_name, email)
     values ($1,
       case when exists (select 1 from users where lower(username) = lower($2) and id <> $1)
            then $2 || '-' || left($1, 8) else $2 end,
       $3, $4)
     on conflict (id) do update set email = excluded.email, updated_at = now()
     where users.email is distinct from excluded.email`,
    [identity.sub, identity.username, identity.name ?? null, identity.email ?? null],
  );
}
