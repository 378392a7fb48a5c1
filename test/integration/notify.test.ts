import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Redis } from 'ioredis';
import { type Collection, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHostServer } from '../../functions/lib/host/server.ts';
import {
  COLLECTION,
  channelOf,
  MODERATION_INBOX,
  type NotificationDoc,
} from '../../functions/lib/inbox/inbox.ts';
import type { Runtime } from '../../functions/lib/runtime.ts';
import { notifyFromEnv } from '../../functions/notify/settings.ts';
import { deliver, eventOf, eventually, type Mode, modes, seedAnime } from '../support/notify-fixtures.ts';

/**
 * notify over the wire (binary and structured mode, functions-framework and the lean host) against the
 * real PostgreSQL and Redis and the MongoDB wire server. The MongoDB here is the substitute
 * (mongo-java-server: no transactions, TTL indexes that never delete), hence idempotence by the unique
 * {userId, eventId} index, which these tests exercise on it.
 */
const env = inject('env');
const run = (env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '');
const database = `isekai_notify_${run}`.slice(0, 63);
const prefix = `${env.REDIS_KEY_PREFIX}notify-test:`;
const user = (name: string) => `nt-${run}-${name}`;
const [UPLOADER, ALICE, BOB, CAROL, DAVE, ERIN, FRANK] = [
  'uploader',
  'alice',
  'bob',
  'carol',
  'dave',
  'erin',
  'frank',
].map(user) as [string, string, string, string, string, string, string];

let animeId = 0;
let mongo: MongoClient;
let notifications: Collection<NotificationDoc>;
let listener: Redis;
const runtimes: Runtime[] = [];
const heard: { channel: string; message: string }[] = [];

const upload = (language = 'en', uploaderId = UPLOADER) =>
  eventOf('dev.isekai.subtitle.uploaded.v1', animeId, {
    subtitleId: new ObjectId().toHexString(),
    episode: 3,
    language,
    format: 'ass',
    uploaderId,
    sha256: 'a'.repeat(64),
    sizeBytes: 1234,
    uploadedAt: '2026-11-23T16:00:00Z',
  });

const inboxesOf = async (eventId: string) =>
  (await notifications.find({ eventId }).toArray()).map((d) => String(d.userId)).sort();

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

beforeAll(async () => {
  animeId = await seedAnime(env.DATABASE_URL as string, `Notify Test ${run}`, [
    { id: UPLOADER, status: 'watching', langs: [] },
    { id: ALICE, status: 'watching', langs: [] },
    { id: BOB, status: 'plan_to_watch', langs: ['en'] },
    { id: CAROL, status: 'on_hold', langs: ['ja'] },
    { id: DAVE, status: 'completed', langs: [] },
    { id: ERIN, status: 'dropped', langs: ['en'] },
    { id: FRANK, status: 'rewatching', langs: ['EN'] },
  ]);
  const settings = {
    DATABASE_URL: env.DATABASE_URL ?? '',
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: database,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const notify = notifyFromEnv(settings);
  // Same code, a MongoDB that does not answer: transient failure.
  const broken = notifyFromEnv({ ...settings, MONGO_URL: 'mongodb://127.0.0.1:9/' });
  runtimes.push(notify.runtime, broken.runtime);
  cloudEvent('notify', notify.handler);
  cloudEvent('notify-no-mongo', broken.handler);
  mongo = new MongoClient(env.MONGO_URL ?? '');
  await mongo.db(database).dropDatabase();
  notifications = mongo.db(database).collection<NotificationDoc>(COLLECTION);
  listener = new Redis(env.REDIS_URL ?? '');
  listener.on('message', (channel: string, message: string) => heard.push({ channel, message }));
  await listener.subscribe(channelOf(prefix, ALICE), channelOf(prefix, MODERATION_INBOX));
});
afterAll(async () => {
  for (const r of runtimes) await r.shutdown();
  listener?.disconnect();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
});

const hosts = {
  'functions-framework': (target: string) => getTestServer(target),
  'lean host': (target: string) => createHostServer({ target, onEventError: () => undefined }),
};

describe.each(Object.entries(hosts))('notify on %s', (host, make) => {
  const servers: Server[] = [];
  let url = '';
  beforeAll(async () => {
    const server = make('notify');
    servers.push(server);
    url = await listen(server);
  });
  afterAll(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });
  const lean = host === 'lean host';
  const acked = (status: number) => status >= 200 && status < 300;

  describe.each(Object.keys(modes) as Mode[])('%s mode', (mode) => {
    it('an upload notifies list members who want its language, never the uploader', async () => {
      const event = upload('en');
      expect(acked((await deliver(url, event, mode)).status)).toBe(true);
      // watching (no preference), plan-to-watch (en), rewatching (EN); not on-hold (ja), completed, dropped.
      expect(await inboxesOf(event.id)).toEqual([ALICE, BOB, FRANK].sort());
      const [doc] = await notifications.find({ eventId: event.id, userId: ALICE }).toArray();
      expect(doc).toMatchObject({ kind: 'subtitle.uploaded', animeId, readAt: null });
      expect(doc?.message).toContain(`Notify Test ${run}`);
      expect(doc?.expiresAt.getTime()).toBeGreaterThan(Date.now() + 80 * 86_400_000);
    });

    it('a redelivered event creates no duplicates and is acknowledged', async () => {
      const event = upload('ja');
      for (let i = 0; i < 3; i += 1) expect(acked((await deliver(url, event, mode)).status)).toBe(true);
      expect(await inboxesOf(event.id)).toEqual([ALICE, CAROL].sort());
    });

    it('a retry after a failed commit inserts only the missing notifications (unique userId+eventId)', async () => {
      const event = upload('en');
      // As if an earlier attempt had stored Alice's notification and then lost its PostgreSQL commit.
      await notifications.insertOne({
        _id: new ObjectId(),
        userId: ALICE,
        eventId: event.id,
        kind: 'subtitle.uploaded',
        animeId,
        message: 'from the failed attempt',
        data: {},
        createdAt: new Date(),
        readAt: null,
        expiresAt: new Date(Date.now() + 86_400_000),
      });
      expect(acked((await deliver(url, event, mode)).status)).toBe(true);
      expect(await inboxesOf(event.id)).toEqual([ALICE, BOB, FRANK].sort());
    });

    it('an aired episode notifies the users watching the anime, and signals them live on Redis', async () => {
      const event = eventOf('dev.isekai.episode.aired.v1', animeId, {
        episode: 4,
        airedAt: '2026-11-23T16:00:00Z',
      });
      expect(acked((await deliver(url, event, mode)).status)).toBe(true);
      expect(await inboxesOf(event.id)).toEqual([ALICE, UPLOADER].sort());
      const signal = await eventually(async () =>
        heard.find((h) => h.channel === channelOf(prefix, ALICE) && h.message.includes('episode 4')),
      );
      expect(JSON.parse(signal.message)).toMatchObject({ kind: 'episode.aired', animeId, readAt: null });
    });

    it('a report goes to the moderation inbox; a removal to the uploader unless they removed it', async () => {
      const subtitleId = new ObjectId().toHexString();
      const common = { subtitleId, episode: 3, uploaderId: UPLOADER };
      const reported = eventOf('dev.isekai.subtitle.reported.v1', animeId, {
        ...common,
        reportId: `r-${subtitleId}`,
        reporterId: BOB,
        reason: 'out_of_sync',
        reportedAt: '2026-11-23T16:00:00Z',
      });
      const removed = (removedBy: string) =>
        eventOf('dev.isekai.subtitle.removed.v1', animeId, {
          ...common,
          removedBy,
          reason: removedBy === UPLOADER ? 'uploader' : 'moderation',
          removedAt: '2026-11-23T16:05:00Z',
        });
      const byModerator = removed('mod-1');
      const byUploader = removed(UPLOADER);
      for (const event of [reported, byModerator, byUploader])
        expect(acked((await deliver(url, event, mode)).status)).toBe(true);
      expect(await inboxesOf(reported.id)).toEqual([MODERATION_INBOX]);
      expect(await inboxesOf(byModerator.id)).toEqual([UPLOADER]);
      expect(await inboxesOf(byUploader.id)).toEqual([]);
    });

    it.each([
      [
        'an episode out of range',
        (e: ReturnType<typeof upload>) => ({ ...e, data: { animeId, episode: 0 } }),
      ],
      [
        // once accepted and silently delivered to nobody; now refused loudly (dead-lettered)
        'a slug for the anime id',
        (e: ReturnType<typeof upload>) => ({
          ...e,
          subject: 'cowboy-bebop',
          data: { ...(e.data as Record<string, unknown>), animeId: 'cowboy-bebop' },
        }),
      ],
    ])(
      'an invalid event (%s) is refused (400 on the lean host: dead-lettered, not retried) and stores nothing',
      async (_name, breakIt) => {
        const event = breakIt(upload('en'));
        const res = await deliver(url, event, mode);
        expect(res.status).toBe(lean ? 400 : 500);
        if (lean) expect(JSON.parse(res.body).code).toBe('validation_failed');
        expect(await inboxesOf(event.id)).toEqual([]);
      },
    );
  });
});

describe('notify when MongoDB is down (lean host)', () => {
  it('answers 503 (the broker retries) and does not mark the event processed', async () => {
    const server = createHostServer({ target: 'notify-no-mongo', onEventError: () => undefined });
    const url = await listen(server);
    try {
      const event = upload('en');
      const res = await deliver(url, event, 'binary');
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body).code).toBe('dependency_unavailable');
      // The retry, once MongoDB answers, stores everything: nothing was recorded as processed.
      const healthy = createHostServer({ target: 'notify', onEventError: () => undefined });
      const healthyUrl = await listen(healthy);
      expect((await deliver(healthyUrl, event, 'binary')).status).toBe(204);
      expect(await inboxesOf(event.id)).toEqual([ALICE, BOB, FRANK].sort());
      healthy.closeAllConnections();
      healthy.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('inbox indexes (on the MongoDB substitute)', () => {
  it('has the unique {userId, eventId}, the {userId, createdAt} and the TTL index on expiresAt', async () => {
    const indexes = await notifications.listIndexes().toArray();
    const byName = Object.fromEntries(indexes.map((i) => [i.name, i]));
    expect(byName.user_event).toMatchObject({ key: { userId: 1, eventId: 1 }, unique: true });
    expect(byName.user_created).toMatchObject({ key: { userId: 1, createdAt: -1 } });
    expect(byName.expires).toMatchObject({ key: { expiresAt: 1 }, expireAfterSeconds: 0 });
  });
});
