import type { CommandStartedEvent, Document } from 'mongodb';
import { type Db, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PENDING_EVENTS_INDEX } from '../../functions/lib/events/embedded-outbox.ts';
import { newEvent } from '../../functions/lib/events/new-event.ts';
import { subtitleOutbox } from '../../functions/lib/subtitles/events.ts';
import { openCollections, SUBTITLE_REPORTS, SUBTITLES } from '../../functions/lib/subtitles/store.ts';

/**
 * outbox-relay's claim and backlog over the subtitle collections (functions/lib/events/embedded-outbox.ts)
 * read the documents that have pending events through a partial index, not every document.
 *
 * What the harness's MongoDB substitute (mongo-java-server) can show: that the subtitle functions create
 * the index on both collections (it keeps and lists secondary indexes), and that the two queries the relay
 * sends filter on the indexed path with a predicate that implies the index's filter (`$lte` on a time,
 * `$exists: true`), which is what lets MongoDB's planner choose a partial index at all. What it cannot
 * show: that a real mongod's planner picks it — mongo-java-server has no `explain` and never reads a
 * secondary index (it stores it and scans). The last test asks the server's `explain` and runs only where
 * one answers (MONGO_URL naming a real mongod).
 */
const env = inject('env');
let client: MongoClient;
let db: Db;
const commands: CommandStartedEvent[] = [];

beforeAll(async () => {
  client = new MongoClient(env.MONGO_URL ?? '', { monitorCommands: true });
  client.on('commandStarted', (event) => commands.push(event));
  db = client.db(
    `isekai_${(env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '')}_outbox_index`,
  );
  await openCollections(db);
});
afterAll(async () => {
  await db?.dropDatabase();
  await client?.close();
});

/** A document with one pending event written `ageMs` ago. */
async function pendingDocument(collection: string, ageMs: number): Promise<void> {
  const event = newEvent(
    'dev.isekai.episode.aired.v1',
    { animeId: 1, episode: 1, airedAt: '2026-11-23T16:00:00Z' },
    { source: '/functions/subtitles' },
  );
  await db.collection(collection).insertOne({
    _id: new ObjectId(),
    pendingEvents: [{ ...event, time: new Date(Date.now() - ageMs).toISOString() }],
  });
}

/** The filter of the last command of `name` on `collection` the relay sent. */
function lastFilter(name: 'findAndModify' | 'aggregate', collection: string): Document | undefined {
  const sent = commands.filter((c) => c.commandName === name && c.command[name] === collection).at(-1);
  return name === 'findAndModify' ? sent?.command.query : sent?.command.pipeline?.[0]?.$match;
}

describe('the outbox index on subtitles and subtitle_reports', () => {
  it.each([SUBTITLES, SUBTITLE_REPORTS])('%s has the partial index on pendingEvents.time', async (name) => {
    const indexes = await db.collection(name).listIndexes().toArray();
    expect(indexes.find((i) => i.name === 'pending_events')).toMatchObject({
      key: { 'pendingEvents.time': 1 },
      partialFilterExpression: { 'pendingEvents.time': { $exists: true } },
    });
  });

  it.each([SUBTITLES, SUBTITLE_REPORTS])(
    'the claim and the backlog on %s filter on the indexed path with a predicate that implies its filter',
    async (name) => {
      await pendingDocument(name, 60_000);
      const source = subtitleOutbox(db, { minAgeMs: 0 });
      commands.length = 0;
      const claim = await source.claim(10);
      await claim.release([]);
      expect((await source.pending()).count).toBeGreaterThanOrEqual(1);
      expect(lastFilter('findAndModify', name)?.['pendingEvents.time']).toEqual({ $lte: expect.any(String) });
      expect(lastFilter('aggregate', name)).toEqual(PENDING_EVENTS_INDEX.options.partialFilterExpression);
    },
  );

  it('a real mongod plans both with the index (only where the server answers explain)', async (ctx) => {
    const probe = await db
      .command({ explain: { count: SUBTITLES }, verbosity: 'queryPlanner' })
      .catch(() => null);
    if (probe === null) {
      ctx.skip('the server has no explain (mongo-java-server): index use cannot be shown here');
      return;
    }
    // Many documents without pending events, then two with: the index, not a scan, finds those.
    await db
      .collection(SUBTITLES)
      .insertMany(Array.from({ length: 500 }, () => ({ _id: new ObjectId(), pendingEvents: [] })));
    await pendingDocument(SUBTITLES, 60_000);
    await pendingDocument(SUBTITLES, 60_000);
    const source = subtitleOutbox(db, { minAgeMs: 0 });
    commands.length = 0;
    const claim = await source.claim(10);
    await claim.release([]);
    await source.pending();
    const claimPlan = await db.command({
      explain: { find: SUBTITLES, filter: lastFilter('findAndModify', SUBTITLES), sort: { _id: 1 } },
      verbosity: 'queryPlanner',
    });
    const backlogPlan = await db.command({
      explain: {
        aggregate: SUBTITLES,
        pipeline: [{ $match: lastFilter('aggregate', SUBTITLES) }],
        cursor: {},
      },
      verbosity: 'queryPlanner',
    });
    for (const plan of [claimPlan, backlogPlan]) {
      const winning = JSON.stringify(
        plan.queryPlanner?.winningPlan ?? plan.stages?.[0]?.$cursor?.queryPlanner?.winningPlan,
      );
      expect(winning).toContain('"indexName":"pending_events"');
      expect(winning).not.toContain('COLLSCAN');
    }
  });
});
