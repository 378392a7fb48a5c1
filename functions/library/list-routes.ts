import type pg from 'pg';
import { ensureUser } from '../lib/data/users.ts';
import { NotFound, ValidationFailed } from '../lib/errors.ts';
import { commitAndPublish } from '../lib/events/commit.ts';
import { implement } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import type { TrackingDeps } from '../lib/tracking/wiring.ts';
import { LibraryListApi } from './api.ts';
import {
  appendHistory,
  ENTRY_SQL,
  type EntryWrite,
  entryView,
  historyView,
  removeEntry,
  saveEntry,
} from './entries.ts';
import type { ListQuery } from './schemas.ts';

const NO_STORE = { 'cache-control': 'private, no-store' };
type Deps = Pick<TrackingDeps, 'db' | 'cache' | 'runtime' | 'publish'>;

/** The anime id of the path (checked and converted by the route's `params`: 400 when malformed). */
export const animeIdOf = (ctx: { readonly params: { readonly animeId: number } }): number =>
  ctx.params.animeId;

const SORT: Record<string, string> = {
  updated: 'e.updated_at desc',
  title: 'lower(a.title) asc',
  score: 'r.score desc nulls last',
  progress: 'e.progress desc',
  started: 'e.started_on desc nulls last',
};

/** The columns and joins of a list item: the entry, its anime and the owner's score (null: not rated). */
const ITEM_SQL = `${ENTRY_SQL}, a.title, a.episodes, a.type, a.mal_id, r.score`;
const ITEM_FROM = `library_entries e join anime a on a.id = e.anime_id
     left join ratings r on r.user_id = e.user_id and r.anime_id = e.anime_id`;

/** A list item as the list and the single entry answer it (api.ts `LibraryItem`). */
const itemView = (row: Record<string, unknown>) => ({
  ...entryView(row),
  anime: { title: row.title, episodes: row.episodes, type: row.type, malId: row.mal_id },
  score: row.score,
});

/** One page of a list; `publicOnly` hides private entries (someone else's list). */
async function listPage(db: Deps['db'], userId: string, query: ListQuery, publicOnly: boolean) {
  const { rows } = await db.query(
    `select ${ITEM_SQL}, count(*) over () as total
     from ${ITEM_FROM}
     where e.user_id = $1 and ($2::text is null or e.status = $2) and ($3::boolean is null or e.favourite = $3)
       and (not $4 or not e.private)
     order by ${SORT[query.sort ?? 'updated']}, e.anime_id limit $5 offset $6`,
    [
      userId,
      query.status ?? null,
      query.favourite ?? null,
      publicOnly,
      query.perPage,
      (query.page - 1) * query.perPage,
    ],
  );
  const items = rows.map((row) => ({
    ...itemView(row),
    ...(publicOnly ? { notes: undefined, private: undefined } : {}),
  }));
  return { items, page: query.page, perPage: query.perPage, total: Number(rows[0]?.total ?? 0) };
}

/**
 * 400 naming /body/displayName when `name` is another account's username, compared after Unicode NFKC
 * (compatibility forms: full-width "ｍoderator1" is "moderator1") and case folding: a display name shown as
 * "moderator1" would pass for that account. Only accounts the platform has seen are known here (a row is made
 * at the first `GET /me`, i.e. at the first sign-in to the site).
 */
async function refuseOthersUsername(tx: pg.PoolClient, sub: string, name: string): Promise<void> {
  const { rowCount } = await tx.query('select 1 from users where lower(username) = lower($1) and id <> $2', [
    name.normalize('NFKC'),
    sub,
  ]);
  if (rowCount === 0) return;
  throw new ValidationFailed("the display name is another account's username", {
    issues: [{ field: '/body/displayName', message: "must not be another account's username" }],
  });
}

/** The list routes: the caller's entries, history, profile, and other users' public lists. */
export function listRoutes(deps: Deps): AnyRoute[] {
  const { db, cache, publish } = deps;
  /** Commit; drop cached catalog objects whose members moved (before answering); publish. */
  const write = (animeId: number, work: (tx: pg.PoolClient) => Promise<EntryWrite>) =>
    commitAndPublish({ db, publish }, work, (result) =>
      result.catalogChanged ? cache.invalidate([animeId]) : undefined,
    );

  return implement(LibraryListApi, {
    listMyLibrary: async (ctx) => ({
      headers: NO_STORE,
      body: await listPage(db, ctx.identity.sub, ctx.query, false),
    }),
    listUserLibrary: async (ctx) => {
      const found = await db.query(
        'select id, username, display_name from users where id = $1 or lower(username) = lower($1) limit 1',
        [ctx.params.user],
      );
      const user = found.rows[0];
      if (!user) throw new NotFound(`no user ${ctx.params.user}`);
      const page = await listPage(db, user.id, ctx.query, true);
      return {
        body: { user: { id: user.id, username: user.username, displayName: user.display_name }, ...page },
      };
    },
    getEntry: async (ctx) => {
      const { rows } = await db.query(
        `select ${ITEM_SQL} from ${ITEM_FROM} where e.user_id = $1 and e.anime_id = $2`,
        [ctx.identity.sub, animeIdOf(ctx)],
      );
      if (!rows[0]) throw new NotFound('this anime is not on your list');
      return { headers: NO_STORE, body: itemView(rows[0]) };
    },
    putEntry: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const result = await write(animeId, (tx) => saveEntry(tx, ctx.identity, animeId, ctx.body));
      return { status: result.change === 'added' ? 201 : 200, headers: NO_STORE, body: result.entry };
    },
    deleteEntry: async (ctx) => {
      const animeId = animeIdOf(ctx);
      await write(animeId, (tx) => removeEntry(tx, ctx.identity, animeId));
      return { status: 204 };
    },
    listHistory: async (ctx) => {
      const { rows } = await db.query(
        `select id, episode, pass, watched_at, origin from watch_history where user_id = $1 and anime_id = $2 order by id`,
        [ctx.identity.sub, animeIdOf(ctx)],
      );
      return { headers: NO_STORE, body: { items: rows.map(historyView) } };
    },
    addHistory: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const at = ctx.body.watchedAt;
      if (at !== undefined && (Number.isNaN(Date.parse(at)) || Date.parse(at) > Date.now() + 86_400_000)) {
        throw new ValidationFailed('watchedAt must be a past RFC 3339 time', {
          issues: [{ field: '/body/watchedAt', message: 'must be a past RFC 3339 date-time' }],
        });
      }
      const { item, created } = await db.transaction((tx) =>
        appendHistory(tx, ctx.identity, animeId, ctx.body.episode, at),
      );
      return { status: created ? 201 : 200, headers: NO_STORE, body: item };
    },
    getProfile: async (ctx) => {
      const read = async () =>
        (
          await db.query(
            'select username, display_name, email, preferred_subtitle_languages, weekly_backup, last_backup_at from users where id = $1',
            [ctx.identity.sub],
          )
        ).rows[0];
      // The site calls GET /me at sign-in: the account becomes known here (invitable, its public list
      // found by name) before it writes anything. Written only when missing or its email changed, so a
      // read of an up-to-date row costs one select and no write.
      let row = await read();
      if (!row || row.email !== (ctx.identity.email ?? null)) {
        await db.transaction((tx) => ensureUser(tx, ctx.identity));
        row = await read();
      }
      return {
        headers: NO_STORE,
        body: {
          id: ctx.identity.sub,
          username: row?.username ?? ctx.identity.username,
          displayName: row ? row.display_name : (ctx.identity.name ?? null),
          preferredSubtitleLanguages: row?.preferred_subtitle_languages ?? [],
          weeklyBackup: row?.weekly_backup ?? false,
          lastBackupAt: row?.last_backup_at?.toISOString() ?? null,
        },
      };
    },
    patchProfile: async (ctx) => {
      const { preferredSubtitleLanguages, weeklyBackup } = ctx.body;
      const displayName =
        typeof ctx.body.displayName === 'string' ? ctx.body.displayName.trim() : ctx.body.displayName;
      const { rows } = await db.transaction(async (tx) => {
        await ensureUser(tx, ctx.identity);
        if (typeof displayName === 'string') await refuseOthersUsername(tx, ctx.identity.sub, displayName);
        return tx.query(
          `update users set display_name = case when $2 then $3 else display_name end,
               preferred_subtitle_languages = coalesce($4, preferred_subtitle_languages),
               weekly_backup = coalesce($5, weekly_backup), updated_at = now()
             where id = $1 returning username, display_name, preferred_subtitle_languages, weekly_backup`,
          [
            ctx.identity.sub,
            displayName !== undefined,
            displayName ?? null,
            preferredSubtitleLanguages ?? null,
            weeklyBackup ?? null,
          ],
        );
      });
      const row = rows[0];
      return {
        headers: NO_STORE,
        body: {
          id: ctx.identity.sub,
          username: row.username,
          displayName: row.display_name,
          preferredSubtitleLanguages: row.preferred_subtitle_languages,
          weeklyBackup: row.weekly_backup,
        },
      };
    },
  });
}
