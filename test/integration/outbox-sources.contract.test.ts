/**
 * CONTRACT TEST of the outbox-source interface (functions/lib/events/outbox-source.ts): one suite, run
 * against both implementations outbox-relay uses —
 * - `postgresOutbox` on the real PostgreSQL (a scratch database: the relay reads every row);
 * - `subtitleOutbox` (`embeddedOutbox` over `subtitles` + `subtitle_reports`) on the MongoDB
 *   wire-compatible substitute the harness provides (mongo-java-server at 127.0.0.1:47017, in memory): it
 *   proves the queries and the lease as the driver sends them, not a real mongod's concurrency.
 * What every source must do: hand out due events oldest first and leave young ones; never hand a claimed
 * event to a second claim until it is released; never hand out a published event again; hand out again
 * what was released unpublished; keep a sequence in write order; report its backlog (`pending`: how many
 * wait, since when); and, through `relayOutbox`, lose nothing while the broker is down and send each event
 * once it is back.
 */
import type { CloudEventV1 } from 'cloudevents';
import { type Db, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPostgres, type Postgres } from '../../functions/lib/data/postgres.ts';
import { DependencyUnavailable } from '../../functions/lib/errors.ts';
import { newEvent } from '../../functions/lib/events/new-event.ts';
import { enqueue, postgresOutbox } from '../../functions/lib/events/outbox.ts';
import type { OutboxSource } from '../../functions/lib/events/outbox-source.ts';
import { relayOutbox } from '../../functions/lib/events/relay.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { subtitleOutbox } from '../../functions/lib/subtitles/events.ts';
import { SUBTITLE_REPORTS, SUBTITLES } from '../../functions/lib/subtitles/store.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';

const env = inject('env');
const runtime = createRuntime('outbox-contract', { env: { LOG_LEVEL: 'silent' } });

let serial = 0;
/** An event a producer would write (the catalogue validates it), `ageMs` old. */
function aired(ageMs: number): CloudEventV1<unknown> {
  serial += 1;
  const event = newEvent(
    'dev.isekai.episode.aired.v1',
    { animeId: 1, episode: serial, airedAt: '2026-11-23T16:00:00Z' },
    { source: '/functions/library' },
  );
  return { ...event, time: new Date(Date.now() - ageMs).toISOString() };
}

/** One outbox implementation on its store. */
interface Fixture {
  setup(): Promise<void>;
  teardown(): Promise<void>;
  /** Empty the store. */
  clear(): Promise<void>;
  /** Write groups of events (one transaction or one document per group, in order), `ageMs` old. */
  write(sizes: number[], ageMs: number): Promise<CloudEventV1<unknown>[][]>;
  /** The source, leaving events younger than `minAgeMs`. */
  source(minAgeMs: number): OutboxSource;
  /** Ids of the events not yet published. */
  pending(): Promise<string[]>;
}

function postgresFixture(): Fixture {
  let scratch: ScratchDatabase;
  let db: Postgres;
  return {
    async setup() {
      scratch = await createScratchDatabase(env.DATABASE_URL as string, 'outbox_contract');
      db = createPostgres(runtime, { url: scratch.url, max: 4 });
    },
    async teardown() {
      await db?.pool.end();
      await scratch?.drop();
    },
    clear: async () => void (await db.query('delete from outbox')),
    async write(sizes, ageMs) {
      const groups: CloudEventV1<unknown>[][] = [];
      for (const size of sizes) {
        const events = Array.from({ length: size }, () => aired(ageMs));
        await db.transaction(async (tx) => {
          for (const e of events) await enqueue(tx, e);
          await tx.query(
            `update outbox set created_at = now() - make_interval(secs => $2) where id = any($1::text[])`,
            [events.map((e) => e.id), ageMs / 1000],
          );
        });
        groups.push(events);
      }
      return groups;
    },
    source: (minAgeMs) => postgresOutbox(db, { minAgeMs }),
    pending: async () =>
      (await db.query<{ id: string }>('select id from outbox where published_at is null')).rows.map(
        (r) => r.id,
      ),
  };
}

function mongoFixture(): Fixture {
  let client: MongoClient;
  let db: Db;
  return {
    async setup() {
      client = new MongoClient(env.MONGO_URL ?? '');
      db = client.db(`isekai_${env.TEST_RUN_ID}_outbox_contract`);
    },
    async teardown() {
      await db?.dropDatabase();
      await client?.close();
    },
    async clear() {
      for (const name of [SUBTITLES, SUBTITLE_REPORTS]) await db.collection(name).deleteMany({});
    },
    async write(sizes, ageMs) {
      const groups: CloudEventV1<unknown>[][] = [];
      for (const size of sizes) {
        const events = Array.from({ length: size }, () => aired(ageMs));
        await db.collection(SUBTITLES).insertOne({ _id: new ObjectId(), pendingEvents: events });
        groups.push(events);
      }
      return groups;
    },
    source: (minAgeMs) => subtitleOutbox(db, { minAgeMs }),
    async pending() {
      const ids: string[] = [];
      for (const name of [SUBTITLES, SUBTITLE_REPORTS])
        for (const doc of await db.collection(name).find({}).toArray())
          ids.push(...(doc.pendingEvents as { id: string }[]).map((e) => e.id));
      return ids;
    },
  };
}

const fixtures: [string, Fixture][] = [
  ['PostgreSQL outbox (postgresOutbox, real PostgreSQL)', postgresFixture()],
  [
    'MongoDB pending events (subtitleOutbox, contract test against the wire-compatible substitute mongo-java-server)',
    mongoFixture(),
  ],
];

const ids = (sequences: readonly (readonly CloudEventV1<unknown>[])[]) => sequences.flat().map((e) => e.id);

describe.each(fixtures)('outbox source contract: %s', (_name, store) => {
  beforeAll(() => store.setup());
  afterAll(() => store.teardown());
  beforeEach(() => store.clear());

  it('hands out due events oldest first and leaves those younger than the minimum age', async () => {
    const [a, b] = await store.write([1, 1], 60_000);
    await store.write([1], 0);
    const claim = await store.source(10_000).claim(10);
    await claim.release([]);
    expect(ids(claim.sequences)).toEqual([...(a ?? []), ...(b ?? [])].map((e) => e.id));
  });

  it('claims at most `limit` events when each write holds one', async () => {
    const groups = await store.write([1, 1, 1], 60_000);
    const claim = await store.source(0).claim(2);
    await claim.release([]);
    expect(ids(claim.sequences)).toEqual(
      groups
        .slice(0, 2)
        .flat()
        .map((e) => e.id),
    );
  });

  it('keeps each sequence in write order and hands out every event of the write', async () => {
    const [group] = await store.write([3], 60_000);
    const claim = await store.source(0).claim(10);
    await claim.release([]);
    const order = (group ?? []).map((e) => e.id);
    for (const sequence of claim.sequences) {
      const positions = sequence.map((e) => order.indexOf(e.id));
      expect(positions).toEqual([...positions].sort((x, y) => x - y));
    }
    expect(ids(claim.sequences).sort()).toEqual([...order].sort());
  });

  it('never hands a claimed event to a second claim until it is released', async () => {
    const groups = await store.write([1, 1], 60_000);
    const all = groups.flat().map((e) => e.id);
    const source = store.source(0);
    const first = await source.claim(1);
    const second = await source.claim(10);
    try {
      expect(ids(first.sequences)).toEqual(all.slice(0, 1));
      expect(ids(second.sequences)).toEqual(all.slice(1));
    } finally {
      await first.release([]);
      await second.release([]);
    }
    const third = await source.claim(10);
    await third.release([]);
    expect(ids(third.sequences)).toEqual(all);
  });

  it('never hands out a published event again, and hands out again what was released unpublished', async () => {
    const groups = await store.write([1, 1], 60_000);
    const [sent, kept] = groups.flat().map((e) => e.id);
    const source = store.source(0);
    const claim = await source.claim(10);
    await claim.markPublished([sent ?? '']);
    await claim.release([{ id: kept ?? '', error: 'dependency_unavailable: broker', transient: true }]);
    expect(await store.pending()).toEqual([kept]);
    const again = await source.claim(10);
    await again.release([]);
    expect(ids(again.sequences)).toEqual([kept]);
  });

  it('pending() counts every unpublished event (young ones too) and dates the oldest; published ones leave it', async () => {
    expect(await store.source(0).pending()).toEqual({ count: 0, oldest: null });
    await store.write([1, 2], 120_000);
    await store.write([1], 0);
    const source = store.source(10_000);
    const before = await source.pending();
    expect(before.count).toBe(4);
    // Written 120 s ago (the row's created_at, the event's time), give or take the test's own run.
    expect(Date.now() - (before.oldest?.getTime() ?? 0)).toBeGreaterThanOrEqual(119_000);
    expect(Date.now() - (before.oldest?.getTime() ?? 0)).toBeLessThan(130_000);
    const claim = await source.claim(10);
    await claim.markPublished(ids(claim.sequences));
    await claim.release([]);
    const after = await source.pending();
    expect(after.count).toBe(1);
    expect(Date.now() - (after.oldest?.getTime() ?? 0)).toBeLessThan(10_000);
  });

  it('through relayOutbox: nothing is lost while the broker is down, and each event is sent once when it is back', async () => {
    const groups = await store.write([1, 2, 1, 1], 60_000);
    const all = groups.flat().map((e) => e.id);
    const sent: string[] = [];
    let down = true;
    const deps = {
      log: runtime.log,
      send: async (event: CloudEventV1<unknown>) => {
        if (down) throw new DependencyUnavailable('broker');
        sent.push(event.id);
      },
    };
    const failing = await relayOutbox(store.source(0), deps, { batchSize: 2 });
    expect(failing.published).toBe(0);
    expect((await store.pending()).sort()).toEqual([...all].sort());
    down = false;
    expect(await relayOutbox(store.source(0), deps, { batchSize: 2 })).toEqual({
      published: all.length,
      failed: 0,
    });
    expect([...sent].sort()).toEqual([...all].sort());
    expect(await store.pending()).toEqual([]);
    expect(await relayOutbox(store.source(0), deps, { batchSize: 2 })).toEqual({ published: 0, failed: 0 });
  });
});

describe('MongoDB pending events: both subtitle collections (wire-compatible substitute)', () => {
  const mongo = new MongoClient(env.MONGO_URL ?? '');
  const db = () => mongo.db(`isekai_${env.TEST_RUN_ID}_outbox_contract_reports`);
  afterAll(async () => {
    await db().dropDatabase();
    await mongo.close();
  });

  it('relays the pending events of subtitle and report documents, subtitles first', async () => {
    const report = aired(60_000);
    const subtitle = aired(60_000);
    await db()
      .collection(SUBTITLE_REPORTS)
      .insertOne({ _id: new ObjectId(), pendingEvents: [report] });
    await db()
      .collection(SUBTITLES)
      .insertOne({ _id: new ObjectId(), pendingEvents: [subtitle] });
    const sent: string[] = [];
    const deps = { log: runtime.log, send: async (e: CloudEventV1<unknown>) => void sent.push(e.id) };
    expect(await relayOutbox(subtitleOutbox(db(), { minAgeMs: 0 }), deps)).toEqual({
      published: 2,
      failed: 0,
    });
    expect(sent).toEqual([subtitle.id, report.id]);
  });
});
