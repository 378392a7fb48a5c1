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
 * secondary index (it stores it and scans), so the planner's choice is not tested here (a test that could
 * only skip would be counted as nothing; check it with `explain` on a real mongod when one is available).
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
});
