import Type from 'typebox';
import { NotFound } from '../lib/errors.ts';
import type { Identity, Route } from '../lib/http/types.ts';
import { type Inbox, inboxesOf, parseId, toView } from './inbox.ts';

const ListQuery = Type.Object(
  {
    unread: Type.Optional(Type.Boolean()),
    page: Type.Integer({ minimum: 1, maximum: 1000, default: 1 }),
    limit: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);
const NoQuery = Type.Object({}, { additionalProperties: false });

const me = (identity: Identity | undefined): Identity => {
  if (!identity) throw new NotFound('no inbox'); // unreachable: every route has access 'user'
  return identity;
};

/** The inbox routes, all for the signed-in caller only (another user's notification is a 404). */
export function inboxRoutes(inbox: Inbox, now: () => Date = () => new Date()): Route[] {
  const list: Route<never, { unread?: boolean; page: number; limit: number }> = {
    method: 'GET',
    path: '/notifications',
    access: 'user',
    query: ListQuery,
    handle: async (ctx) => {
      const { unread = false, page, limit } = ctx.query;
      const { items, hasMore } = await inbox.list(inboxesOf(me(ctx.identity)), {
        unread,
        page,
        limit,
        now: now(),
      });
      return {
        headers: { 'cache-control': 'no-store' },
        body: { items: items.map(toView), page, limit, hasMore },
      };
    },
  };
  const unreadCount: Route = {
    method: 'GET',
    path: '/notifications/unread-count',
    access: 'user',
    query: NoQuery,
    handle: async (ctx) => ({
      headers: { 'cache-control': 'no-store' },
      body: { unread: await inbox.unreadCount(inboxesOf(me(ctx.identity)), now()) },
    }),
  };
  const readOne: Route = {
    method: 'POST',
    path: '/notifications/:id/read',
    access: 'user',
    query: NoQuery,
    handle: async (ctx) => {
      const id = parseId(ctx.params.id ?? '');
      if (!id) throw new NotFound(`no notification ${ctx.params.id}`);
      await inbox.markRead(inboxesOf(me(ctx.identity)), id, now());
      return { status: 204 };
    },
  };
  const readAll: Route = {
    method: 'POST',
    path: '/notifications/read-all',
    access: 'user',
    query: NoQuery,
    handle: async (ctx) => ({
      body: { marked: await inbox.markAllRead(inboxesOf(me(ctx.identity)), now()) },
    }),
  };
  return [list, unreadCount, readOne, readAll] as Route[];
}
