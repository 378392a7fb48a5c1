import type { CloudEventV1 } from 'cloudevents';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPostgres, type Postgres } from '../../functions/lib/data/postgres.ts';
import { DependencyUnavailable, type IsekaiError } from '../../functions/lib/errors.ts';
import { newEvent } from '../../functions/lib/events/new-event.ts';
import {
  enqueue,
  type OutboxDeps,
  PUBLISH_CONCURRENCY,
  postgresOutbox,
  publishCommitted,
} from '../../functions/lib/events/outbox.ts';
import { relayOutbox } from '../../functions/lib/events/relay.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';

/** The transactional outbox on the real PostgreSQL (a scratch database: the relay reads every row). */
const env = inject('env');
const runtime = createRuntime('outbox-test', { env: { LOG_LEVEL: 'silent' } });
let scratch: ScratchDatabase;
let db: Postgres;
const sent: string[] = [];
let failing = false;
const deps = (): OutboxDeps => ({
  db,
  log: runtime.log,
  send: async (event: CloudEventV1<unknown>) => {
    if (failing) throw new DependencyUnavailable('broker');
    sent.push(event.id);
  },
});
const aired = (episode: number) => ({
  type: 'dev.isekai.episode.aired.v1',
  source: '/functions/library',
  subject: '1',
  data: { animeId: 1, episode, airedAt: '2026-11-23T16:00:00Z' },
});
/** The event a producer would build (newEvent validates it: inside a transaction, a bad one rolls it back). */
const build = (e: ReturnType<typeof aired>) => newEvent(e.type, e.data, e);
const row = async (id: string) =>
  (await db.query('select published_at, attempts, last_error from outbox where id = $1', [id])).rows[0];

beforeAll(async () => {
  scratch = await createScratchDatabase(env.DATABASE_URL as string, 'outbox');
  db = createPostgres(runtime, { url: scratch.url, max: 2 });
});
afterAll(async () => {
  await db?.pool.end();
  await scratch?.drop();
});
beforeEach(() => {
  sent.length = 0;
  failing = false;
});

describe('enqueue', () => {
  it('writes the event in the caller’s transaction, with id, time and dataschema filled in', async () => {
    const event = await db.transaction((tx) => enqueue(tx, build(aired(1))));
    expect(event).toMatchObject({ specversion: '1.0', type: aired(1).type, subject: '1' });
    expect(event.dataschema).toMatch(/dev\.isekai\.episode\.aired\.v1\.schema\.json$/);
    expect((await row(event.id))?.published_at).toBeNull();
  });

  it.each([
    ['data out of range', { ...aired(0) }, '/data/episode'],
    ['a subject that is not the anime', { ...aired(2), subject: 'trigun' }, '/subject'],
    ['an unknown type', { ...aired(2), type: 'dev.isekai.unknown.v1' }, '/type'],
  ])('refuses %s with validation_failed and rolls the change back', async (_name, event, field) => {
    const marker = `rollback-${field}`;
    let failure: IsekaiError | undefined;
    await db
      .transaction(async (tx) => {
        await tx.query(`insert into users (id, username) values ($1, $1)`, [marker]);
        await enqueue(tx, build(event));
      })
      .catch((error: IsekaiError) => {
        failure = error;
      });
    expect(failure?.code).toBe('validation_failed');
    expect(failure?.issues.some((i) => i.field.startsWith(field))).toBe(true);
    expect((await db.query('select 1 from users where id = $1', [marker])).rowCount).toBe(0);
  });
});

describe('publishCommitted', () => {
  it('sends committed events and marks them published', async () => {
    const event = await db.transaction((tx) => enqueue(tx, build(aired(3))));
    expect(await publishCommitted(deps(), [event])).toEqual({ published: 1, failed: 0 });
    expect(sent).toEqual([event.id]);
    expect((await row(event.id))?.published_at).toBeInstanceOf(Date);
  });

  it('leaves an event the broker did not take unpublished, with the attempt and error code', async () => {
    failing = true;
    const event = await db.transaction((tx) => enqueue(tx, build(aired(4))));
    expect(await publishCommitted(deps(), [event])).toEqual({ published: 0, failed: 1 });
    expect(await row(event.id)).toMatchObject({
      published_at: null,
      attempts: 1,
      last_error: expect.stringMatching(/^dependency_unavailable:/),
    });
  });

  it(`sends a bulk write's events ${PUBLISH_CONCURRENCY} at a time, every one published`, async () => {
    const events = await db.transaction(async (tx) => {
      const built = [];
      for (let i = 0; i < 200; i++) built.push(await enqueue(tx, build(aired(100 + i))));
      return built;
    });
    let inFlight = 0;
    let most = 0;
    const slow: OutboxDeps = {
      ...deps(),
      send: async (event) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight -= 1;
        sent.push(event.id);
      },
    };
    expect(await publishCommitted(slow, events)).toEqual({ published: 200, failed: 0 });
    expect(most).toBe(PUBLISH_CONCURRENCY);
    expect(new Set(sent)).toEqual(new Set(events.map((e) => e.id)));
    const unpublished = await db.query(
      'select 1 from outbox where id = any($1::text[]) and published_at is null',
      [events.map((e) => e.id)],
    );
    expect(unpublished.rowCount).toBe(0);
  });
});

describe('relayOutbox', () => {
  it('publishes rows older than minAge and leaves younger ones to their producer', async () => {
    await relayOutbox(postgresOutbox(db, { minAgeMs: 0 }), deps()); // drain what earlier tests left
    sent.length = 0;
    const [old, young] = await db.transaction(async (tx) => [
      await enqueue(tx, build(aired(5))),
      await enqueue(tx, build(aired(6))),
    ]);
    await db.query(`update outbox set created_at = now() - interval '10 seconds' where id = $1`, [old?.id]);
    expect(await relayOutbox(postgresOutbox(db, { minAgeMs: 2_000 }), deps())).toEqual({
      published: 1,
      failed: 0,
    });
    expect(sent).toEqual([old?.id]);
    expect((await row(old?.id ?? ''))?.published_at).toBeInstanceOf(Date);
    expect((await row(young?.id ?? ''))?.published_at).toBeNull();
  });

  it('stops at the first failing batch while the broker is down, and drains everything once it is back', async () => {
    await relayOutbox(postgresOutbox(db, { minAgeMs: 0 }), deps()); // drain what earlier tests left
    sent.length = 0;
    const events = await db.transaction(async (tx) => {
      const out: CloudEventV1<unknown>[] = [];
      for (let n = 10; n < 15; n += 1) out.push(await enqueue(tx, build(aired(n))));
      return out;
    });
    failing = true;
    const down = await relayOutbox(postgresOutbox(db, { minAgeMs: 0 }), deps(), { batchSize: 2 });
    expect(down).toEqual({ published: 0, failed: 2 });
    failing = false;
    expect((await relayOutbox(postgresOutbox(db, { minAgeMs: 0 }), deps(), { batchSize: 2 })).published).toBe(
      5,
    );
    expect([...sent].sort()).toEqual(events.map((e) => e.id).sort());
  });
});
