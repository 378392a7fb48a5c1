import { type Collection, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHttpTransport } from '../../functions/lib/events/transport.ts';
import { createRuntime, runtimes } from '../../functions/lib/runtime.ts';
import { relayPendingSubtitleEvents } from '../../functions/subtitles/events.ts';
import {
  openCollections,
  type ReportDoc,
  type SubtitleCollections,
  type SubtitleDoc,
} from '../../functions/subtitles/store.ts';
import { subtitlesFromEnv } from '../../functions/subtitles/subtitles.ts';
import { uploadSubtitleFromEnv } from '../../functions/upload-subtitle/upload-subtitle.ts';
import { eventSink, roleCaller, scratchBucket, srtOf, subtitleEnv, uploader } from '../support/subtitles.ts';
import { createTestTokens } from '../support/test-tokens.ts';
import { animeIdByMal, prepareDatabase, serveOnHost } from '../support/tracking.ts';

/**
 * Subtitle events and all-or-nothing writes on the MongoDB wire-compatible substitute (mongo-java-server:
 * no transactions, hence the outbox embedded in each document), real Ceph RGW and PostgreSQL: events reach
 * a local sink in binary mode; with the sink down they stay pending and the relay publishes them later;
 * a failed document insert leaves no object behind.
 */
const env = inject('env');
const database = `isekai_${env.TEST_RUN_ID}_subtitle_events`;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
let sink: Awaited<ReturnType<typeof eventSink>>;
let upload: ReturnType<typeof uploader>;
let call: ReturnType<typeof roleCaller>;
let mongo: MongoClient;
let collections: SubtitleCollections;
let uploads = '';
let failing = '';
let subs = '';
let animeId = 0;
const closers: (() => Promise<void>)[] = [];

/** The events still pending in a document. */
const pendingOf = async (c: Collection<SubtitleDoc> | Collection<ReportDoc>, id: string) =>
  ((await (c as Collection<SubtitleDoc>).findOne({ _id: new ObjectId(id) }))?.pendingEvents ?? []) as {
    id: string;
    type: string;
  }[];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  animeId = await animeIdByMal(env.DATABASE_URL as string, 30);
  bucket = await scratchBucket(env, 'events');
  sink = await eventSink();
  mongo = new MongoClient(env.MONGO_URL ?? '');
  collections = await openCollections(mongo.db(database));
  const tokens = await createTestTokens();
  upload = uploader(tokens);
  call = roleCaller(tokens);
  const settings = subtitleEnv(env, { database, bucket: bucket.bucket, sink: sink.url });
  const auth = { authenticate: tokens.authenticate };
  const u = await serveOnHost('upload-subtitle', uploadSubtitleFromEnv(settings, auth));
  const s = await serveOnHost('subtitles', subtitlesFromEnv(settings, auth));
  // The same function whose document insert always fails (after the object was stored).
  const broken: SubtitleCollections = {
    ...collections,
    subtitles: new Proxy(collections.subtitles, {
      get(target, property) {
        if (property === 'insertOne') return () => Promise.reject(new Error('injected insert failure'));
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }),
  };
  const f = await serveOnHost(
    'upload-subtitle-failing',
    uploadSubtitleFromEnv(settings, { ...auth, collections: async () => broken }),
  );
  uploads = u.url;
  subs = s.url;
  failing = f.url;
  closers.push(u.close, s.close, f.close, sink.close);
});
afterAll(async () => {
  for (const close of closers) await close();
  await bucket?.drop();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
});

const fields = (episode: number) => ({ animeId: String(animeId), episode: String(episode), language: 'en' });
const ofType = (type: string) => sink.received.filter((r) => r.headers['ce-type'] === type);

describe('subtitle events on the MongoDB wire-compatible substitute (mongo-java-server)', () => {
  it('an upload publishes dev.isekai.subtitle.uploaded.v1 in binary mode and pulls it from the document', async () => {
    const res = await upload(uploads, 'ev-alice', fields(1), Buffer.from(srtOf('events one')));
    expect(res.status).toBe(201);
    const [message] = ofType('dev.isekai.subtitle.uploaded.v1');
    expect(message?.headers).toMatchObject({
      'ce-specversion': '1.0',
      'ce-source': '/functions/upload-subtitle',
      'ce-subject': String(animeId),
      'content-type': 'application/json',
    });
    expect(message?.headers['ce-traceparent']).toMatch(/^00-[0-9a-f]{32}-/);
    expect(JSON.parse(message?.body ?? '{}')).toMatchObject({
      subtitleId: res.body.id,
      animeId,
      episode: 1,
      language: 'en',
      format: 'srt',
      uploaderId: 'ev-alice',
      sha256: res.body.sha256,
    });
    expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
  });

  it('a report and a removal publish reported.v1 and removed.v1', async () => {
    const res = await upload(uploads, 'ev-alice', fields(2), Buffer.from(srtOf('events two')));
    const report = await call('POST', `${subs}/subtitles/${res.body.id}/reports`, 'ev-bob', undefined, {
      reason: 'wrong_episode',
      details: 'this is episode 3',
    });
    expect(report.status).toBe(201);
    await call('POST', `${subs}/subtitles/${res.body.id}/moderation`, 'ev-mod', ['moderator'], {
      action: 'remove',
      note: 'wrong episode',
    });
    const reported = ofType('dev.isekai.subtitle.reported.v1').map((m) => JSON.parse(m.body));
    expect(reported).toEqual([
      expect.objectContaining({
        reportId: report.body.id,
        subtitleId: res.body.id,
        reporterId: 'ev-bob',
        uploaderId: 'ev-alice',
        reason: 'wrong_episode',
        comment: 'this is episode 3',
      }),
    ]);
    const removed = ofType('dev.isekai.subtitle.removed.v1');
    expect(removed[0]?.headers['ce-source']).toBe('/functions/subtitles');
    expect(JSON.parse(removed[0]?.body ?? '{}')).toMatchObject({
      subtitleId: res.body.id,
      removedBy: 'ev-mod',
      reason: 'moderation',
      note: 'wrong episode',
    });
    expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
    expect(await pendingOf(collections.reports, report.body.id)).toEqual([]);
  });

  it('with the sink down the writes succeed and their events stay pending until the relay publishes them', async () => {
    sink.state.down = true;
    const before = sink.received.length;
    const res = await upload(uploads, 'ev-alice', fields(3), Buffer.from(srtOf('events three')));
    expect(res.status).toBe(201);
    const report = await call('POST', `${subs}/subtitles/${res.body.id}/reports`, 'ev-carol', undefined, {
      reason: 'spam',
    });
    expect(report.status).toBe(201);
    const pending = [
      ...(await pendingOf(collections.subtitles, res.body.id)),
      ...(await pendingOf(collections.reports, report.body.id)),
    ];
    expect(pending.map((e) => e.type).sort()).toEqual([
      'dev.isekai.subtitle.reported.v1',
      'dev.isekai.subtitle.uploaded.v1',
    ]);

    const runtime = createRuntime('subtitles-relay-test', { env: { LOG_LEVEL: 'silent' } });
    const relay = () =>
      relayPendingSubtitleEvents(
        { send: createHttpTransport({ runtime, sink: sink.url }), log: runtime.log, collections },
        { minAgeMs: 0 },
      );
    expect((await relay()).published).toBe(0); // still down: nothing lost, nothing published
    expect(await pendingOf(collections.subtitles, res.body.id)).toHaveLength(1);

    sink.state.down = false;
    expect(await relay()).toEqual({ published: 2, failed: 0 });
    const relayed = sink.received.slice(before);
    expect(relayed.map((m) => m.headers['ce-id']).sort()).toEqual(pending.map((e) => e.id).sort());
    expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
    expect(await pendingOf(collections.reports, report.body.id)).toEqual([]);
    expect(await relay()).toEqual({ published: 0, failed: 0 });
  });

  it('the subtitles function relays pending events on its own timer once the sink is back', async () => {
    sink.state.down = true;
    const res = await upload(uploads, 'ev-alice', fields(5), Buffer.from(srtOf('events five')));
    expect(res.status).toBe(201);
    const [pending] = await pendingOf(collections.subtitles, res.body.id);
    expect(pending?.type).toBe('dev.isekai.subtitle.uploaded.v1');
    sink.state.down = false;
    const existing = new Set(runtimes);
    const relaying = subtitlesFromEnv(
      {
        ...subtitleEnv(env, { database, bucket: bucket.bucket, sink: sink.url }),
        SUBTITLE_RELAY_INTERVAL_MS: '100',
        SUBTITLE_RELAY_MIN_AGE_MS: '0',
      },
      { authenticate: async () => undefined },
    );
    const served = await serveOnHost('subtitles-relaying', relaying);
    // Its shutdown stops the relay timer and closes its MongoDB client.
    const own = [...runtimes].filter((r) => !existing.has(r));
    closers.push(served.close, async () => {
      await Promise.all(own.map((r) => r.shutdown()));
    });
    const deadline = Date.now() + 10_000;
    while (!sink.received.some((m) => m.headers['ce-id'] === pending?.id) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sink.received.filter((m) => m.headers['ce-id'] === pending?.id)).toHaveLength(1);
    expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
  });

  it('a failed document insert deletes the stored object: no orphan, no document, no event', async () => {
    const before = sink.received.length;
    const res = await upload(failing, 'ev-alice', fields(4), Buffer.from(srtOf('events four')));
    expect(res.status).toBe(500);
    expect(res.body.code).toBe('internal');
    const keys = await bucket.keys(`subtitles/${animeId}/`);
    const docs = await collections.subtitles.find({ animeId }).toArray();
    expect(keys.sort()).toEqual(docs.map((d: SubtitleDoc) => d.key).sort());
    expect(docs.some((d) => d.episode === 4)).toBe(false);
    expect(sink.received.length).toBe(before);
  });
});
