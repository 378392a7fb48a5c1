import { PutObjectCommand } from '@aws-sdk/client-s3';
import { type Collection, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { relayOutbox } from '../../functions/lib/events/relay.ts';
import { createHttpTransport } from '../../functions/lib/events/transport.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { subtitleOutbox } from '../../functions/lib/subtitles/events.ts';
import {
  openCollections,
  type ReportDoc,
  type SubtitleCollections,
  type SubtitleDoc,
} from '../../functions/lib/subtitles/store.ts';
import { wireSubtitles } from '../../functions/lib/subtitles/wiring.ts';
import { createRelayHandler } from '../../functions/outbox-relay/relay.ts';
import { subtitlesFromEnv } from '../../functions/subtitles/subtitles.ts';
import {
  createUploadSubtitle,
  uploadSubtitleFromEnv,
} from '../../functions/upload-subtitle/upload-subtitle.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { eventSink, roleCaller, scratchBucket, srtOf, subtitleEnv, uploader } from '../support/subtitles.ts';
import { animeIdByMal, prepareDatabase, serveOnHost } from '../support/tracking.ts';
import { makeZip } from '../support/zip.ts';

/**
 * Subtitle events and all-or-nothing writes on the MongoDB wire-compatible substitute (mongo-java-server:
 * no transactions, hence the outbox embedded in each document), real Ceph RGW and PostgreSQL: events reach
 * a local sink in binary mode; with the sink down they stay pending and the relay publishes them later;
 * a failed document insert leaves no object behind.
 */
const env = inject('env');
const database = `isekai_${env.TEST_RUN_ID}_subtitle_events`;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
let tokens: KeycloakTokens;
let sink: Awaited<ReturnType<typeof eventSink>>;
let upload: ReturnType<typeof uploader>;
let call: ReturnType<typeof roleCaller>;
let mongo: MongoClient;
let collections: SubtitleCollections;
let uploads = '';
let failing = '';
let rgwFailing = '';
/** Keys the RGW-failing function put successfully (the bytes as uploaded). */
const putBeforeFailure: string[] = [];
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
  tokens = await keycloakTokens(env, 'subtitles-events');
  upload = uploader(tokens);
  call = roleCaller(tokens);
  const settings = subtitleEnv(env, { database, bucket: bucket.bucket, sink: sink.url });
  // Production wiring: tokens verified against the suite's Keycloak.
  const u = await serveOnHost('upload-subtitle', uploadSubtitleFromEnv(settings));
  const s = await serveOnHost('subtitles', subtitlesFromEnv(settings));
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
    uploadSubtitleFromEnv(settings, { collections: async () => broken }),
  );
  // The same function whose RGW refuses the normalised copy (after the bytes as uploaded were stored).
  const wired = wireSubtitles('upload-subtitle-rgw-failing', settings);
  const s3 = new Proxy(wired.s3, {
    get(target, property) {
      if (property === 'send')
        return (command: unknown, options?: unknown) => {
          if (command instanceof PutObjectCommand && command.input.Key?.endsWith('.srt'))
            return Promise.reject(
              Object.assign(new Error('injected RGW failure'), { name: 'ServiceUnavailable' }),
            );
          if (command instanceof PutObjectCommand) putBeforeFailure.push(command.input.Key ?? '');
          return target.send(command as never, options as never);
        };
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const r = await serveOnHost(
    'upload-subtitle-rgw-failing',
    createUploadSubtitle({ ...wired, s3, findAnime: async () => ({ title: 'Test', episodes: null }) }),
  );
  uploads = u.url;
  subs = s.url;
  failing = f.url;
  rgwFailing = r.url;
  closers.push(u.close, s.close, f.close, r.close, sink.close);
});
afterAll(async () => {
  for (const close of closers) await close();
  await bucket?.drop();
  await tokens?.close();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
});

const fields = (episode: number) => ({ animeId: String(animeId), episode: String(episode), language: 'en' });
const ofType = (type: string) => sink.received.filter((r) => r.headers['ce-type'] === type);
/** The events of `type` about one subtitle: other tests' events reach the same sink. */
const about = (type: string, subtitleId: string) =>
  ofType(type).filter((r) => JSON.parse(r.body).subtitleId === subtitleId);

describe('subtitle events on the MongoDB wire-compatible substitute (mongo-java-server)', () => {
  it('an upload publishes dev.isekai.subtitle.uploaded.v1 in binary mode and pulls it from the document', async () => {
    const res = await upload(uploads, 'ev-alice', fields(1), Buffer.from(srtOf('events one')));
    expect(res.status).toBe(201);
    const [message, ...more] = about('dev.isekai.subtitle.uploaded.v1', res.body.id);
    expect(more).toEqual([]);
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
      uploaderId: tokens.subOf('ev-alice'),
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
    const reported = about('dev.isekai.subtitle.reported.v1', res.body.id).map((m) => JSON.parse(m.body));
    expect(reported).toEqual([
      expect.objectContaining({
        reportId: report.body.id,
        subtitleId: res.body.id,
        reporterId: tokens.subOf('ev-bob'),
        uploaderId: tokens.subOf('ev-alice'),
        reason: 'wrong_episode',
        comment: 'this is episode 3',
      }),
    ]);
    const removed = about('dev.isekai.subtitle.removed.v1', res.body.id);
    expect(removed).toHaveLength(1);
    expect(removed[0]?.headers['ce-source']).toBe('/functions/subtitles');
    expect(JSON.parse(removed[0]?.body ?? '{}')).toMatchObject({
      subtitleId: res.body.id,
      removedBy: tokens.subOf('ev-mod'),
      reason: 'moderation',
      note: 'wrong episode',
      // the category of the report it resolved, never the reporter's words
      reasons: ['wrong_episode'],
    });
    expect(removed[0]?.body).not.toContain('this is episode 3');
    expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
    expect(await pendingOf(collections.reports, report.body.id)).toEqual([]);
  });

  it('hide and restore publish hidden.v1 and restored.v1 and pull them from the document', async () => {
    const res = await upload(uploads, 'ev-alice', fields(7), Buffer.from(srtOf('events seven')));
    const moderate = (action: string, note?: string) =>
      call('POST', `${subs}/subtitles/${res.body.id}/moderation`, 'ev-mod', ['moderator'], {
        action,
        ...(note ? { note } : {}),
      });
    expect((await moderate('hide', 'checking')).status).toBe(200);
    expect((await moderate('restore')).status).toBe(200);
    const hidden = ofType('dev.isekai.subtitle.hidden.v1').map((m) => JSON.parse(m.body));
    const restored = ofType('dev.isekai.subtitle.restored.v1').map((m) => JSON.parse(m.body));
    expect(hidden).toEqual([
      expect.objectContaining({
        subtitleId: res.body.id,
        animeId,
        uploaderId: tokens.subOf('ev-alice'),
        hiddenBy: tokens.subOf('ev-mod'),
        note: 'checking',
      }),
    ]);
    expect(restored).toEqual([
      expect.objectContaining({ subtitleId: res.body.id, restoredBy: tokens.subOf('ev-mod') }),
    ]);
    expect(restored[0]).not.toHaveProperty('note');
    // no open report: no categories
    expect(hidden[0]).not.toHaveProperty('reasons');
    expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
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
      relayOutbox(subtitleOutbox(mongo.db(database), { minAgeMs: 0 }), {
        send: createHttpTransport({ runtime, sink: sink.url }),
        log: runtime.log,
      });
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

  it('outbox-relay publishes pending subtitle events on its PingSource tick once the sink is back', async () => {
    sink.state.down = true;
    const res = await upload(uploads, 'ev-alice', fields(5), Buffer.from(srtOf('events five')));
    expect(res.status).toBe(201);
    const [pending] = await pendingOf(collections.subtitles, res.body.id);
    expect(pending?.type).toBe('dev.isekai.subtitle.uploaded.v1');
    sink.state.down = false;
    // The outbox-relay function with the MongoDB source only (the run database's PostgreSQL outbox holds
    // other test files' rows), as the PingSource tick reaches it.
    const runtime = createRuntime('outbox-relay', { env: { LOG_LEVEL: 'silent' } });
    const tick = createRelayHandler({
      runtime,
      sources: [subtitleOutbox(mongo.db(database), { minAgeMs: 0 })],
      send: createHttpTransport({ runtime, sink: sink.url }),
      batchSize: 100,
    });
    try {
      await tick({
        specversion: '1.0',
        id: 'subtitle-relay-tick',
        type: 'dev.knative.sources.ping',
        source: '/apis/v1/namespaces/isekai/pingsources/outbox-relay-tick',
        data: { maxRows: 500 },
      });
      expect(sink.received.filter((m) => m.headers['ce-id'] === pending?.id)).toHaveLength(1);
      expect(await pendingOf(collections.subtitles, res.body.id)).toEqual([]);
    } finally {
      await runtime.shutdown();
    }
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

  it('a zip whose document inserts fail leaves no orphan either (the fault stops the zip: 500)', async () => {
    const zip = makeZip([
      { name: 'x - 5.srt', data: srtOf('events zip five'), deflate: true },
      { name: 'x - 6.srt', data: srtOf('events zip six'), deflate: true },
    ]);
    const res = await upload(failing, 'ev-alice', { animeId: String(animeId), language: 'en' }, zip, {
      fileName: 'batch.zip',
    });
    expect(res.status).toBe(500);
    const keys = await bucket.keys(`subtitles/${animeId}/`);
    const docs = await collections.subtitles.find({ animeId }).toArray();
    expect(keys.sort()).toEqual(docs.map((d: SubtitleDoc) => d.key).sort());
    expect(docs.some((d) => d.fileName?.startsWith('x - '))).toBe(false);
  });

  it('RGW failing on the normalised copy deletes the bytes as uploaded: no orphan in either store', async () => {
    const crlf = Buffer.from(srtOf('events rgw').replace(/\n/g, '\r\n')); // normalising changes it: two objects
    const res = await upload(rgwFailing, 'ev-alice', fields(8), crlf, { fileName: 'rgw.srt' });
    expect(res.status).toBeGreaterThanOrEqual(500);
    expect(putBeforeFailure).toEqual([expect.stringMatching(/\.original$/)]);
    const keys = await bucket.keys(`subtitles/${animeId}/`);
    const docs = await collections.subtitles.find({ animeId }).toArray();
    expect(keys.sort()).toEqual(
      docs.flatMap((d: SubtitleDoc) => [d.key, ...(d.originalKey ? [d.originalKey] : [])]).sort(),
    );
    expect(docs.some((d) => d.fileName === 'rgw.srt')).toBe(false);
  });
});
