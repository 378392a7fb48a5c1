import { NotFound } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { type Inbox, parseId, readerOf, toView } from '../lib/inbox/inbox.ts';
import { verifyUnsubscribe } from '../lib/inbox/mail.ts';
import { type PreferencesStore, parsePatch } from '../lib/inbox/preferences.ts';
import { InboxApi, PreferencesApi } from './api.ts';

/** The inbox routes, all for the signed-in caller only (another user's notification is a 404). */
export function inboxRoutes(inbox: Inbox, now: () => Date = () => new Date()): AnyRoute[] {
  return implement(InboxApi, {
    listNotifications: async (ctx) => {
      const { unread = false, page } = ctx.query;
      const perPage = ctx.query.limit ?? ctx.query.perPage;
      const reader = readerOf(ctx.identity);
      const { items, hasMore } = await inbox.list(reader, {
        unread,
        page,
        limit: perPage,
        now: now(),
      });
      return {
        headers: { 'cache-control': 'no-store' },
        body: { items: items.map((doc) => toView(doc, reader.sub)), page, perPage, limit: perPage, hasMore },
      };
    },
    unreadCount: async (ctx) => {
      // The cursor first, then the count through it: what lands in between is left to the stream's replay.
      const reader = readerOf(ctx.identity);
      const at = now();
      const cursor = await inbox.newest(reader.inboxes, at);
      const unread = await inbox.unreadCount(reader, at, cursor);
      return { headers: { 'cache-control': 'no-store' }, body: { unread, cursor: cursor.id } };
    },
    markRead: async (ctx) => {
      const id = parseId(ctx.params.id);
      if (!id) throw new NotFound(`no notification ${ctx.params.id}`);
      await inbox.markRead(readerOf(ctx.identity), id, now());
      return { status: 204 };
    },
    markAllRead: async (ctx) => ({
      body: { marked: await inbox.markAllRead(readerOf(ctx.identity), now()) },
    }),
  });
}

/** The caller's notification preferences (GET, PUT = replace, PATCH = merge); never cached. */
export function preferencesRoutes(
  store: PreferencesStore,
  unsubscribeKey: string,
  now: () => Date = () => new Date(),
): AnyRoute[] {
  const noStore = { 'cache-control': 'no-store' };
  return implement(PreferencesApi, {
    getNotificationPreferences: async (ctx) => ({
      headers: noStore,
      body: await store.get(ctx.identity.sub),
    }),
    replaceNotificationPreferences: async (ctx) => ({
      headers: noStore,
      body: await store.replace(ctx.identity.sub, parsePatch(ctx.body), now()),
    }),
    updateNotificationPreferences: async (ctx) => ({
      headers: noStore,
      body: await store.merge(ctx.identity.sub, parsePatch(ctx.body), now()),
    }),
    unsubscribe: async (ctx) => {
      const { userId, type } = verifyUnsubscribe(unsubscribeKey, ctx.query.grant);
      await store.merge(userId, { [type]: { email: 'off' } }, now());
      return { headers: noStore, body: { type, email: 'off' as const } };
    },
  });
}
