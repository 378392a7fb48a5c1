import type { CloudEventV1 } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPostgres, type Postgres } from '../../functions/lib/data/postgres.ts';
import { DependencyUnavailable, type IsekaiError, NotFound } from '../../functions/lib/errors.ts';
import { createConsumer } from '../../functions/lib/events/consumer.ts';
import { statusOf } from '../../functions/lib/problem.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';

/**
 * The idempotent consumer wrapper on the real PostgreSQL: the dedupe record and the effect commit
 * together; permanent failures map to 4xx (dead-lettered), transient ones to 5xx (retried).
 */
const env = inject('env');
const runtime = createRuntime('consumer-test', { env: { LOG_LEVEL: 'silent' } });
let scratch: ScratchDatabase;
let db: Postgres;
let consume: (event: CloudEventV1<unknown>) => Promise<string>;

const aired = (id: string, episode = 1): CloudEventV1<unknown> => ({
  specversion: '1.0',
  id,
  type: 'dev.isekai.episode.aired.v1',
  source: '/integrators/test',
  subject: '1',
  datacontenttype: 'application/json',
  data: { animeId: 1, episode, airedAt: '2026-11-23T16:00:00Z' },
});
const effects = async (id: string) =>
  (await db.query('select count(*)::int as n from effects where event_id = $1', [id])).rows[0]?.n;
const processed = async (id: string) =>
  (await db.query('select count(*)::int as n from processed_events where event_id = $1', [id])).rows[0]?.n;

async function failure(event: CloudEventV1<unknown>): Promise<IsekaiError | undefined> {
  try {
    await consume(event);
    return undefined;
  } catch (error) {
    return error as IsekaiError;
  }
}

beforeAll(async () => {
  scratch = await createScratchDatabase(env.DATABASE_URL as string, 'consumer');
  db = createPostgres(runtime, { url: scratch.url, max: 4 });
  await db.query('create table effects (event_id text not null, episode int not null)');
  consume = createConsumer<{ episode: number }>({
    runtime,
    db,
    consumer: 'consumer-test',
    types: ['dev.isekai.episode.aired.v1'],
    handle: async (tx, event) => {
      await tx.query('insert into effects (event_id, episode) values ($1, $2)', [
        event.id,
        event.data.episode,
      ]);
      if (event.data.episode === 13) throw new DependencyUnavailable('mailer');
      if (event.data.episode === 404) throw new NotFound('no such anime');
    },
  });
});
afterAll(async () => {
  await db?.pool.end();
  await scratch?.drop();
});

describe('createConsumer', () => {
  it('applies a duplicate delivery once: the second is acked as a duplicate', async () => {
    expect(await consume(aired('dup-1'))).toBe('ok');
    expect(await Promise.all([consume(aired('dup-1')), consume(aired('dup-1'))])).toEqual([
      'duplicate',
      'duplicate',
    ]);
    expect(await effects('dup-1')).toBe(1);
    expect(await processed('dup-1')).toBe(1);
  });

  it.each([
    ['an invalid event', { ...aired('perm-1'), data: { animeId: 1, episode: 0 } }, 'validation_failed'],
    [
      'a type it does not consume',
      { ...aired('perm-2'), type: 'dev.isekai.subtitle.removed.v1' },
      'validation_failed',
    ],
    ['a permanent error of the effect', aired('perm-3', 404), 'not_found'],
  ])('refuses %s as permanent: a 4xx code, nothing recorded', async (_name, event, code) => {
    const error = await failure(event);
    expect(error?.code).toBe(code);
    expect(error?.transient).toBe(false);
    expect(statusOf(error?.code ?? 'internal')).toBeGreaterThanOrEqual(400);
    expect(statusOf(error?.code ?? 'internal')).toBeLessThan(500);
    expect(await processed(event.id)).toBe(0);
  });

  it('fails a transient error with a 5xx code and rolls back effect and dedupe, so a retry applies it', async () => {
    const error = await failure(aired('trans-1', 13));
    expect(error?.code).toBe('dependency_unavailable');
    expect(error?.transient).toBe(true);
    expect(statusOf(error?.code ?? 'internal')).toBeGreaterThanOrEqual(500);
    expect(await effects('trans-1')).toBe(0);
    expect(await processed('trans-1')).toBe(0);
    expect(await consume(aired('trans-1', 12))).toBe('ok');
    expect(await effects('trans-1')).toBe(1);
  });
});
