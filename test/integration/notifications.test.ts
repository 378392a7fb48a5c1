import type { Server } from 'node:http';
import { cloudEvent, http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Redis } from 'ioredis';
import { type Collection, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHostServer } from '../../functions/lib/host/server.ts';
import {
  COLLECTION,
  channelOf,
  createInbox,
  MODERATION_INBOX,
  type NotificationDoc,
  toView,
} from '../../functions/lib/inbox/inbox.ts';
import type { Runtime } from '../../functions/lib/runtime.ts';
import { wireNotifications } from '../../functions/notifications/settings.ts';
import { notifyFromEnv } from '../../functions/notify/settings.ts';
import { json, type Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { deliver, eventOf, eventually, seedAnime } from '../support/notify-fixtures.ts';
import { listen } from '../support/tracking.ts';

/**
 * notifications over the wire (functions-framework's test server and the lean host) with notify feeding
 * it, against PostgreSQL, Redis pub/sub and the MongoDB wire server. The MongoDB is the substitute
 * (mongo-java-server): its TTL index never deletes, so expiry is checked through the reads' filter.
 */
const env = inject('env');
const run = (env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '');
const database = `isekai_notifications_${run}`.slice(0, 63);
/** The users' ids: the `sub` of their Keycloak users (set in beforeAll). */
let [ALICE, BOB, UPLOADER] = ['', '', ''];
/** Keycloak user name (keycloakTokens' label) of each id above. */
const nameOf = new Map<string, string>();

let animeId = 0;
let tokens: KeycloakTokens;
let mongo: MongoClient;
let inbox: Collection<NotificationDoc>;
let notifyUrl = '';
const runtimes: Runtime[] = [];
const closers: (() => Promise<void>)[] = [];

let episode = 0;
const aired = () => {
  episode += 1;
  return eventOf('dev.isekai.episode.aired.v1', animeId, { episode, airedAt: '2026-11-23T16:00:00Z' });
};

beforeAll(async () => {
  tokens = await keycloakTokens(env, 'notifications');
  const idOf = async (name: string) => {
    await tokens.sign(name);
    nameOf.set(tokens.subOf(name), name);
    return tokens.subOf(name);
  };
  [ALICE, BOB, UPLOADER] = [await idOf('alice'), await idOf('bob'), await idOf('uploader')];
  animeId = await seedAnime(env.DATABASE_URL as string, `Notifications Test ${run}`, [
    { id: ALICE, status: 'watching', langs: [] },
    { id: BOB, status: 'completed', langs: [] },
    { id: UPLOADER, status: undefined, langs: [] },
  ]);
  const common = {
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: database,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}notifications-test:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const notify = notifyFromEnv({ ...common, DATABASE_URL: env.DATABASE_URL ?? '' });
  // Production wiring: the function verifies tokens against the suite's Keycloak.
  const notifications = wireNotifications({
    ...common,
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
    SSE_HEARTBEAT_MS: '200',
  });
  runtimes.push(notify.runtime, notifications.runtime);
  cloudEvent('notify', notify.handler);
  http('notifications', notifications.handler);
  const n = await listen(createHostServer({ target: 'notify', onEventError: () => undefined }));
  notifyUrl = n.url;
  closers.push(n.close);
  mongo = new MongoClient(env.MONGO_URL ?? '');
  await mongo.db(database).dropDatabase();
  inbox = mongo.db(database).collection<NotificationDoc>(COLLECTION);
});
afterAll(async () => {
  for (const close of closers) await close();
  for (const r of runtimes) await r.shutdown();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
  await tokens?.close();
});

/** Deliver an event to notify and wait for its acknowledgement. */
async function notifyOf(event: ReturnType<typeof aired>) {
  const res = await deliver(notifyUrl, event, 'binary');
  expect(res.status).toBe(204);
  return event;
}

/** An open SSE stream read as text; `waitFor` resolves once the text received matches. */
async function openStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const res = await fetch(url, { headers, signal: abort.signal });
  let text = '';
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let wake: (() => void) | undefined;
  const pump = (async () => {
    if (!reader) return;
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) return;
      text += decoder.decode(chunk.value, { stream: true });
      wake?.();
    }
  })();
  const waitFor = async (pattern: RegExp, deadlineMs = 5_000): Promise<RegExpMatchArray> => {
    const until = Date.now() + deadlineMs;
    for (;;) {
      const found = text.match(pattern);
      if (found) return found;
      const left = until - Date.now();
      if (left <= 0) throw new Error(`stream did not show ${pattern} within ${deadlineMs} ms:\n${text}`);
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, left).unref();
      });
    }
  };
  return {
    res,
    waitFor,
    text: () => text,
    close: async () => {
      abort.abort();
      await pump;
    },
  };
}

const hosts = {
  'functions-framework': () => getTestServer('notifications'),
  'lean host': () => createHostServer({ target: 'notifications' }),
};

describe.each(Object.entries(hosts))('notifications on %s', (_host, make) => {
  let base = '';
  beforeAll(async () => {
    const served = await listen(make() as Server);
    base = served.url;
    closers.push(served.close);
  });
  const auth = async (sub: string, roles = ['viewer']) => ({
    authorization: `Bearer ${await tokens.sign(nameOf.get(sub) ?? sub, { roles })}`,
  });
  async function call(method: string, path: string, sub?: string, roles?: string[]) {
    const headers = sub ? await auth(sub, roles) : {};
    const res = await fetch(`${base}${path}`, { method, headers });
    return { status: res.status, body: res.status === 204 ? undefined : ((await json(res)) as Loose) };
  }
  const unread = async (sub: string, roles?: string[]) =>
    (await call('GET', '/notifications/unread-count', sub, roles)).body.unread as number;

  it('an SSE client receives a notification live after notify handles the event', async () => {
    const stream = await openStream(`${base}/notifications/stream`, await auth(ALICE));
    try {
      expect(stream.res.status).toBe(200);
      expect(stream.res.headers.get('content-type')).toMatch(/^text\/event-stream/);
      await stream.waitFor(/: connected\n\n/);
      const event = await notifyOf(aired());
      const [, id, data] = await stream.waitFor(
        new RegExp(
          `id: ([0-9a-f]{24})\\nevent: notification\\ndata: (.*episode ${episode} has aired.*)\\n\\n`,
        ),
      );
      const view = JSON.parse(data ?? '');
      expect(view).toMatchObject({ id, kind: 'episode.aired', animeId, readAt: null, inbox: 'personal' });
      expect(await inbox.countDocuments({ eventId: event.id, userId: ALICE })).toBe(1);
      await stream.waitFor(/: heartbeat\n\n/);
    } finally {
      await stream.close();
    }
  });

  it('a stream resumed with Last-Event-ID first replays what the client missed', async () => {
    const first = await notifyOf(aired());
    await notifyOf(aired());
    await notifyOf(aired());
    const last = await inbox.findOne({ eventId: first.id, userId: ALICE });
    const stream = await openStream(`${base}/notifications/stream`, {
      ...(await auth(ALICE)),
      'last-event-id': last?._id.toHexString() ?? '',
    });
    try {
      await stream.waitFor(new RegExp(`episode ${episode} has aired`));
      const replayed = [...stream.text().matchAll(/data: (.*)\n\n/g)].map((m) => JSON.parse(m[1] ?? ''));
      expect(replayed.map((v) => v.data.episode)).toEqual([episode - 1, episode]);
    } finally {
      await stream.close();
    }
  });

  it('the inbox lists newest first, filters unread, pages; unread count and mark-read agree', async () => {
    await call('POST', '/notifications/read-all', ALICE);
    expect(await unread(ALICE)).toBe(0);
    for (let i = 0; i < 3; i += 1) await notifyOf(aired());
    expect(await unread(ALICE)).toBe(3);
    const page1 = await call('GET', '/notifications?unread=true&perPage=2', ALICE);
    expect(page1.status).toBe(200);
    expect(page1.body.items.map((v: Loose) => v.data.episode)).toEqual([episode, episode - 1]);
    expect(page1.body.hasMore).toBe(true);
    expect(page1.body).toMatchObject({ page: 1, perPage: 2, limit: 2 });
    // `limit`, the former name, still works (and wins when both are sent).
    const old = await call('GET', '/notifications?unread=true&limit=1&perPage=2', ALICE);
    expect(old.body.items.map((v: Loose) => v.data.episode)).toEqual([episode]);
    expect(old.body).toMatchObject({ perPage: 1, limit: 1 });
    // The edge routes `/notifications/…` (with the slash): the same list.
    const page2 = await call('GET', '/notifications/?unread=true&perPage=2&page=2', ALICE);
    expect(page2.body.items.map((v: Loose) => v.data.episode)).toEqual([episode - 2]);
    expect(page2.body.hasMore).toBe(false);

    const newest = page1.body.items[0].id as string;
    expect((await call('POST', `/notifications/${newest}/read`, ALICE)).status).toBe(204);
    expect((await call('POST', `/notifications/${newest}/read`, ALICE)).status).toBe(204); // idempotent
    expect(await unread(ALICE)).toBe(2);
    const unreadNow = await call('GET', '/notifications?unread=true', ALICE);
    expect(unreadNow.body.items.map((v: Loose) => v.id)).not.toContain(newest);
    const all = await call('GET', '/notifications', ALICE);
    expect(all.body.items.find((v: Loose) => v.id === newest)?.readAt).toEqual(expect.any(String));

    expect((await call('POST', '/notifications/read-all', ALICE)).body).toEqual({ marked: 2 });
    expect(await unread(ALICE)).toBe(0);
  });

  it('another user can neither read nor mark yours (404), and a caller without a token gets 401', async () => {
    await notifyOf(aired());
    const mine = (await call('GET', '/notifications?unread=true&limit=1', ALICE)).body.items[0];
    expect(mine).toBeDefined();
    const theirs = await call('GET', '/notifications', BOB);
    expect(theirs.body.items.map((v: Loose) => v.id)).not.toContain(mine.id);
    const mark = await call('POST', `/notifications/${mine.id}/read`, BOB);
    expect(mark.status).toBe(404);
    expect(mark.body.code).toBe('not_found');
    await call('POST', '/notifications/read-all', BOB);
    expect((await call('GET', '/notifications?unread=true&limit=1', ALICE)).body.items[0].id).toBe(mine.id);
    for (const path of ['/notifications', '/notifications/unread-count', '/notifications/stream']) {
      const anonymous = await call('GET', path);
      expect(anonymous.status).toBe(401);
      expect(anonymous.body.code).toBe('unauthenticated');
    }
    const forged = await fetch(`${base}/notifications`, { headers: { 'x-auth-user-id': ALICE } });
    expect(forged.status).toBe(401);
  });

  it('the stream takes the token from the Authorization header only (the edge requires it there)', async () => {
    const token = await tokens.sign('alice');
    const res = await fetch(`${base}/notifications/stream?access_token=${token}`);
    expect(res.status).toBe(401);
    const both = await fetch(`${base}/notifications/stream?access_token=${token}`, {
      headers: await auth(ALICE),
    });
    expect(both.status).toBe(400);
    expect(((await json(both)) as Loose).code).toBe('validation_failed');
  });

  /** Alice reports a fresh subtitle of Uploader's; notify handles the event. Returns the event. */
  const notifyReport = async () => {
    const subtitleId = new ObjectId().toHexString();
    const report = eventOf('dev.isekai.subtitle.reported.v1', animeId, {
      reportId: `r-${subtitleId}`,
      subtitleId,
      episode: 1,
      uploaderId: UPLOADER,
      reporterId: ALICE,
      reason: 'spam',
      reportedAt: '2026-11-23T16:00:00Z',
    });
    await notifyOf(report);
    return { subtitleId, report };
  };

  it('moderators read the moderation inbox (reports); viewers do not see it', async () => {
    const { subtitleId } = await notifyReport();
    const MOD = 'mod'; // a moderator of its own (a Keycloak user name: auth signs for it)
    const seen = await call('GET', '/notifications', MOD, ['viewer', 'moderator']);
    const item = seen.body.items.find((v: Loose) => v.data.reportId === `r-${subtitleId}`);
    expect(item).toMatchObject({ kind: 'subtitle.reported', inbox: 'moderation' });
    const viewer = await call('GET', '/notifications', ALICE);
    expect(viewer.body.items.some((v: Loose) => v.inbox === 'moderation')).toBe(false);
    expect((await call('POST', `/notifications/${item.id}/read`, ALICE)).status).toBe(404);
    expect((await call('POST', `/notifications/${item.id}/read`, MOD, ['moderator'])).status).toBe(204);
    const mine = await call('GET', '/notifications', MOD, ['moderator']);
    expect(mine.body.items.find((v: Loose) => v.id === item.id)?.readAt).toEqual(expect.any(String));
  });

  it('read state in the moderation inbox is per moderator: one marking it read leaves it unread for the others', async () => {
    const { subtitleId, report } = await notifyReport();
    const [M1, M2, ADMIN] = ['mod', 'mod2', 'admin1'];
    const roles = { [M1]: ['moderator'], [M2]: ['viewer', 'moderator'], [ADMIN]: ['admin'] };
    const findIn = async (who: string, query = '') =>
      (await call('GET', `/notifications${query}`, who, roles[who])).body.items.find(
        (v: Loose) => v.data.reportId === `r-${subtitleId}`,
      );
    const before = { m1: await unread(M1, roles[M1]), m2: await unread(M2, roles[M2]) };
    const item = await findIn(M1);
    expect(item).toMatchObject({ inbox: 'moderation', readAt: null });

    expect((await call('POST', `/notifications/${item.id}/read`, M1, roles[M1])).status).toBe(204);
    expect(await unread(M1, roles[M1])).toBe(before.m1 - 1);
    expect((await findIn(M1))?.readAt).toEqual(expect.any(String));
    expect(await findIn(M1, '?unread=true&limit=100')).toBeUndefined();
    // M2 still sees it unread: listed, counted, in the unread filter.
    expect(await unread(M2, roles[M2])).toBe(before.m2);
    expect(await findIn(M2)).toMatchObject({ id: item.id, readAt: null });
    expect(await findIn(M2, '?unread=true&limit=100')).toMatchObject({ id: item.id });
    // Marking again is idempotent for M1 and changes nothing for M2.
    expect((await call('POST', `/notifications/${item.id}/read`, M1, roles[M1])).status).toBe(204);
    expect(await unread(M2, roles[M2])).toBe(before.m2);

    // read-all by M2 marks it for M2 only; an admin (who also reads the inbox) still has it unread.
    const adminBefore = await unread(ADMIN, roles[ADMIN]);
    const marked = (await call('POST', '/notifications/read-all', M2, roles[M2])).body.marked as number;
    expect(marked).toBeGreaterThanOrEqual(1);
    expect(await unread(M2, roles[M2])).toBe(0);
    expect(await findIn(ADMIN)).toMatchObject({ id: item.id, readAt: null });
    expect(await unread(ADMIN, roles[ADMIN])).toBe(adminBefore);
    // One shared document, one read time per moderator.
    const stored = await inbox.findOne({ userId: MODERATION_INBOX, eventId: report.id });
    expect(stored?.readAt).toBeNull();
    expect(Object.keys(stored?.readBy ?? {})).toHaveLength(2);
  });

  it('expired notifications are neither listed nor counted (the substitute never runs the TTL index)', async () => {
    await call('POST', '/notifications/read-all', BOB);
    const expired = new ObjectId();
    await inbox.insertOne({
      _id: expired,
      userId: BOB,
      eventId: `expired-${expired.toHexString()}`,
      kind: 'episode.aired',
      animeId,
      message: 'old news',
      data: {},
      createdAt: new Date(Date.now() - 100 * 86_400_000),
      readAt: null,
      expiresAt: new Date(Date.now() - 1_000),
    });
    expect(await unread(BOB)).toBe(0);
    const listed = await call('GET', '/notifications', BOB);
    expect(listed.body.items.map((v: Loose) => v.id)).not.toContain(expired.toHexString());
    expect((await call('POST', `/notifications/${expired.toHexString()}/read`, BOB)).status).toBe(404);
  });

  it.each([
    ['a page beyond the limit', '/notifications?page=0'],
    ['a perPage above 100', '/notifications?perPage=101'],
    ['an unknown parameter', '/notifications?sort=asc'],
    ['a non-boolean unread flag', '/notifications?unread=maybe'],
  ])('refuses %s with validation_failed', async (_name, path) => {
    const res = await call('GET', path, ALICE);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('live signals reach only their inbox', () => {
  it('a stream of one user does not receive another user’s notification', async () => {
    // An anime only Bob watches, beside the file's anime that only Alice watches.
    const bobsAnime = await seedAnime(env.DATABASE_URL as string, `Notifications Bob ${run}`, [
      { id: BOB, status: 'watching', langs: [] },
    ]);
    const served = await listen(createHostServer({ target: 'notifications' }));
    closers.push(served.close);
    const bobStream = await openStream(`${served.url}/notifications/stream`, {
      authorization: `Bearer ${await tokens.sign('bob')}`,
    });
    const aliceStream = await openStream(`${served.url}/notifications/stream`, {
      authorization: `Bearer ${await tokens.sign('alice')}`,
    });
    const notified = (text: string) =>
      [...text.matchAll(/event: notification\ndata: (.*)\n\n/g)].map((m) =>
        String(JSON.parse(m[1] ?? '').animeId),
      );
    try {
      await bobStream.waitFor(/: connected/);
      await aliceStream.waitFor(/: connected/);
      // Alice's, then Bob's, then Alice's again: each user's own later notification is the marker that
      // anything leaked from the other's earlier one would already have arrived (one ordered signal stream).
      await notifyOf(aired());
      await notifyOf(
        eventOf('dev.isekai.episode.aired.v1', bobsAnime, { episode: 1, airedAt: '2026-11-23T16:00:00Z' }),
      );
      await notifyOf(aired());
      await bobStream.waitFor(new RegExp(`"animeId":"?${bobsAnime}\\b`));
      await aliceStream.waitFor(new RegExp(`episode ${episode} has aired`));
      expect(notified(bobStream.text())).toEqual([String(bobsAnime)]);
      expect(notified(aliceStream.text())).toEqual([String(animeId), String(animeId)]);
    } finally {
      await bobStream.close();
      await aliceStream.close();
    }
    // Closed streams drop their Redis subscriptions (the shared subscriber unsubscribes the last one).
    const redis = new Redis(env.REDIS_URL ?? '');
    try {
      const channels = [ALICE, BOB].map(
        (u) => `${env.REDIS_KEY_PREFIX}notifications-test:notifications:${u}`,
      );
      await eventually(async () => {
        const counts = (await redis.pubsub('NUMSUB', ...channels)) as (string | number)[];
        return counts.filter((_, i) => i % 2 === 1).every((n) => Number(n) === 0) ? true : undefined;
      });
    } finally {
      redis.disconnect();
    }
  });
});

describe('the stream cursor with two notify replicas', () => {
  it('a notification stamped before the cursor but stored after it still reaches the page (count, then stream)', async () => {
    const served = await listen(createHostServer({ target: 'notifications' }));
    closers.push(served.close);
    const auth = { authorization: `Bearer ${await tokens.sign('bob')}` };
    // Two replicas of notify: each its own inbox client; they publish live signals as notify does.
    const [replicaA, replicaB] = [createInbox(mongo.db(database)), createInbox(mongo.db(database))];
    const redis = new Redis(env.REDIS_URL ?? '');
    const prefix = `${env.REDIS_KEY_PREFIX}notifications-test:`;
    const doc = (createdAt: Date, message: string): NotificationDoc => ({
      _id: new ObjectId(),
      userId: BOB,
      eventId: `two-replicas-${new ObjectId().toHexString()}`,
      kind: 'episode.aired',
      animeId,
      message,
      data: {},
      createdAt,
      readAt: null,
      expiresAt: new Date(createdAt.getTime() + 86_400_000),
    });
    const stamped = new Date();
    const a = doc(stamped, 'stamped first, stored last');
    const b = doc(new Date(stamped.getTime() + 5), 'stamped last, stored first');
    let stream: Awaited<ReturnType<typeof openStream>> | undefined;
    try {
      for (const d of await replicaB.insertOnce([b]))
        await redis.publish(channelOf(prefix, BOB), JSON.stringify(toView(d)));
      // The page is rendered: its unread count and the cursor that count is as of (the body's data-cursor).
      const counted = (await json(
        await fetch(`${served.url}/notifications/unread-count`, { headers: auth }),
      )) as {
        unread: number;
        cursor: string;
      };
      expect(counted.cursor).toBe(b._id.toHexString());
      // Replica A's insert lands now; its live signal follows.
      for (const d of await replicaA.insertOnce([a]))
        await redis.publish(channelOf(prefix, BOB), JSON.stringify(toView(d)));
      // The page's live script opens the stream from its cursor: A arrives (replayed or live), B does not.
      stream = await openStream(`${served.url}/notifications/stream`, {
        ...auth,
        'last-event-id': counted.cursor,
      });
      await stream.waitFor(
        new RegExp(`id: ${a._id.toHexString()}\\nevent: notification\\ndata: .*stamped first`),
      );
      expect(stream.text()).not.toContain('stamped last'); // the count holds it
      // A reconnect from A's id (the browser's last event id) loses nothing and repeats nothing.
      const again = await openStream(`${served.url}/notifications/stream`, {
        ...auth,
        'last-event-id': a._id.toHexString(),
      });
      try {
        await again.waitFor(/: connected\n\n/);
        await again.waitFor(/: heartbeat\n\n/);
        expect(again.text()).not.toMatch(/event: notification/);
      } finally {
        await again.close();
      }
    } finally {
      await stream?.close();
      redis.disconnect();
    }
  });
});
