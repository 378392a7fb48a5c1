import { type Db, MongoClient, ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { afterFilter, isThrough, START_CURSOR, throughFilter } from '../../functions/lib/inbox/cursor.ts';
import { createInbox, type Inbox, type NotificationDoc, readerOf } from '../../functions/lib/inbox/inbox.ts';
import { createSequence, type Sequence } from '../../functions/lib/inbox/sequence.ts';

/**
 * The stream cursor against concurrent writers (several notify replicas), on the MongoDB wire server
 * (mongo-java-server: a contract test of the documented MongoDB semantics the sequence relies on — a unique
 * `_id` insert and a conditional single-document updateOne are atomic — where a real mongod cannot run here).
 * A cursor means "the client has accounted for every notification at or before it": one that became
 * visible after the cursor was handed out must come after it, whatever its writer stamped as createdAt.
 */
const env = inject('env');
const run = (env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '');
const database = `isekai_notify_cursor_${run}`.slice(0, 63);

/** Each writer and the reader is its own client: replicas share the database, nothing else. */
const clients: MongoClient[] = [];
async function replica(): Promise<Db> {
  const client = new MongoClient(env.MONGO_URL ?? '');
  clients.push(client);
  return client.db(database);
}
let reader: Inbox;
beforeAll(async () => {
  reader = createInbox(await replica());
  await reader.collection.db.dropDatabase();
});
afterAll(async () => {
  await clients[0]?.db(database).dropDatabase();
  for (const client of clients) await client.close();
});

let serial = 0;
/** A personal notification of `userId` stamped `createdAt` (as notify stamps it, before the insert). */
function draft(userId: string, createdAt: Date): NotificationDoc {
  serial += 1;
  return {
    _id: new ObjectId(),
    userId,
    eventId: `cursor-${run}-${serial}`,
    kind: 'episode.aired',
    animeId: 1,
    message: `notification ${serial}`,
    data: { serial },
    createdAt,
    readAt: null,
    expiresAt: new Date(createdAt.getTime() + 86_400_000),
  };
}
const user = (name: string) => ({ sub: `${name}-${run}`, roles: ['viewer'] });
const ids = (docs: readonly NotificationDoc[]) => docs.map((d) => d._id.toHexString());

describe('a notification stamped earlier but inserted later (two notify replicas)', () => {
  it('comes after a cursor taken between the two inserts: replayed, not counted, never lost', async () => {
    const [writerA, writerB] = [createInbox(await replica()), createInbox(await replica())];
    const me = readerOf(user('race'));
    const t1 = new Date();
    const a = draft(me.sub, t1); // replica A stamps first…
    const b = draft(me.sub, new Date(t1.getTime() + 5)); // …replica B stamps later…
    await writerB.insertOnce([b]); // …and B's insert lands first.

    // The reader takes its cursor now (GET /notifications/unread-count: the cursor, then the count through it).
    const now = new Date();
    const cursor = await reader.newest(me.inboxes, now);
    expect(cursor.id).toBe(b._id.toHexString());
    expect(await reader.unreadCount(me, now, cursor)).toBe(1);

    await writerA.insertOnce([a]); // A becomes visible only now.

    // The stream opened from that cursor (Last-Event-ID) replays A: the count left it out.
    const resumed = await reader.resolve(me.inboxes, cursor.id);
    expect(resumed).toBeDefined();
    expect(ids(await reader.after(me.inboxes, resumed ?? cursor, new Date(), 100))).toEqual([
      a._id.toHexString(),
    ]);
    // And a fresh cursor accounts for both.
    const later = await reader.newest(me.inboxes, new Date());
    expect(await reader.unreadCount(me, new Date(), later)).toBe(2);
    expect(await reader.after(me.inboxes, later, new Date(), 100)).toEqual([]);
  });
});

/** A sequence whose allocate() holds its number until `release()`: a replica that stalls after taking it. */
function stalling(db: Db): { sequence: Sequence; allocated: Promise<number>; release: () => void } {
  const real = createSequence(db, { leaseMs: 60_000 });
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let taken: (n: number) => void = () => {};
  const allocated = new Promise<number>((resolve) => {
    taken = resolve;
  });
  const sequence: Sequence = {
    ...real,
    allocate: async () => {
      const n = await real.allocate();
      taken(n);
      await held;
      return n;
    },
  };
  return { sequence, allocated, release };
}

describe('the sequence: cursors stay below what is not visible yet', () => {
  it('a writer that took its number first but inserts last holds the cursor back until it is visible', async () => {
    const me = readerOf(user('held'));
    const reader = createInbox(await replica(), { leaseMs: 60_000 }); // passes over nothing in this test
    const gate = stalling(await replica());
    const writerA = createInbox(await replica(), { sequence: gate.sequence });
    const writerB = createInbox(await replica());
    const before = await reader.newest(me.inboxes, new Date());
    const a = draft(me.sub, new Date());
    const insertA = writerA.insertOnce([a]); // takes its number, then stalls before inserting
    await gate.allocated;
    const b = draft(me.sub, new Date());
    await writerB.insertOnce([b]); // inserted and done, but not committed while A's number is open

    // B is visible, yet no cursor is handed out past it while A's number is open.
    const now = new Date();
    const cursor = await reader.newest(me.inboxes, now);
    expect(cursor).toEqual(before);
    expect(await reader.unreadCount(me, now, cursor)).toBe(0);
    expect(await reader.after(me.inboxes, cursor, now, 100)).toEqual([]);

    gate.release();
    await insertA;
    expect(ids(await reader.after(me.inboxes, cursor, new Date(), 100))).toEqual(ids([a, b]));
  });

  it('a writer passed over (stalled past the lease) re-sequences: replayed after cursors handed out meanwhile', async () => {
    const me = readerOf(user('late'));
    const db = await replica();
    const real = createSequence(db, { leaseMs: 100 });
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let firstCommit = true;
    // Replica A stalls between its insert and its commit, longer than the lease.
    const sequence: Sequence = {
      ...real,
      commit: async (n) => {
        if (firstCommit) {
          firstCommit = false;
          await held;
        }
        return real.commit(n);
      },
    };
    const writerA = createInbox(db, { sequence });
    const writerB = createInbox(await replica(), { leaseMs: 100 });
    const reader = createInbox(await replica(), { leaseMs: 100 });
    const a = draft(me.sub, new Date());
    const insertA = writerA.insertOnce([a]);
    await expect.poll(() => reader.collection.countDocuments({ _id: a._id })).toBe(1);
    const b = draft(me.sub, new Date());
    await writerB.insertOnce([b]);

    // A reader passes over A's number once B has been done for the lease: the cursor stands at B.
    await expect.poll(async () => (await reader.newest(me.inboxes, new Date())).id).toBe(b._id.toHexString());
    const cursor = await reader.newest(me.inboxes, new Date());
    const c = draft(me.sub, new Date());
    const [storedC] = await writerB.insertOnce([c]);

    release();
    const [storedA] = await insertA;
    expect(storedA?.late).toBeGreaterThan(storedC?.seq ?? Number.POSITIVE_INFINITY);
    // Resumed from the cursor handed out before A was placed late: A is replayed rather than lost.
    expect(ids(await reader.after(me.inboxes, cursor, new Date(), 100))).toEqual(ids([a, c]));
    // A cursor at A (it could be handed out while A stood at its own number) still means that number.
    const atA = await reader.resolve(me.inboxes, a._id.toHexString());
    expect(ids(await reader.after(me.inboxes, atA ?? START_CURSOR, new Date(), 100))).toEqual(ids([a, b, c]));
  });
});

describe('three replicas writing while a reader takes cursors', () => {
  it('every cursor taken meanwhile: what it counted plus what it replays later is every notification, once', async () => {
    const me = readerOf(user('busy'));
    const writers = [
      createInbox(await replica()),
      createInbox(await replica()),
      createInbox(await replica()),
    ];
    let writing = true;
    const snapshots: { cursor: Awaited<ReturnType<Inbox['newest']>>; counted: string[] }[] = [];
    const reading = (async () => {
      while (writing) {
        // As GET /notifications/unread-count: the cursor, then what is at or before it.
        const now = new Date();
        const cursor = await reader.newest(me.inboxes, now);
        const counted = await reader.collection
          .find({ userId: me.sub, ...throughFilter(cursor) }, { projection: { _id: 1 } })
          .toArray();
        snapshots.push({ cursor, counted: ids(counted as NotificationDoc[]) });
      }
    })();
    // Each replica stamps, then inserts after a pause of its own: stamps and inserts interleave.
    await Promise.all(
      writers.map(async (writer, w) => {
        for (let i = 0; i < 12; i += 1) {
          const doc = draft(me.sub, new Date());
          await new Promise((resolve) => setTimeout(resolve, ((i * 7 + w * 5) % 11) + 1));
          await writer.insertOnce([doc]);
        }
      }),
    );
    writing = false;
    await reading;
    const all = ids(await reader.collection.find({ userId: me.sub }).toArray()).sort();
    expect(all).toHaveLength(36);
    expect(snapshots.length).toBeGreaterThan(5);
    for (const { cursor, counted } of snapshots) {
      const replayed = ids(await reader.after(me.inboxes, cursor, new Date(), 100));
      expect([...counted, ...replayed].sort()).toEqual(all);
    }
  });
});

describe('cursors from before the sequence (notifications without seq)', () => {
  it('keep their (createdAt, id) order, and every sequenced notification comes after them', async () => {
    const me = readerOf(user('legacy'));
    const t = Date.now() - 60_000;
    const old = [draft(me.sub, new Date(t)), draft(me.sub, new Date(t + 1)), draft(me.sub, new Date(t + 2))];
    await reader.ready();
    await reader.collection.insertMany(old); // as the writer before the sequence stored them
    const fresh = draft(me.sub, new Date(t - 1)); // stamped before them all, sequenced
    await reader.insertOnce([fresh]);

    const cursor = await reader.resolve(me.inboxes, old[1]?._id.toHexString() ?? '');
    expect(cursor).toMatchObject({ seq: 0 });
    const now = new Date();
    expect(ids(await reader.after(me.inboxes, cursor ?? START_CURSOR, now, 100))).toEqual(
      ids([old[2] as NotificationDoc, fresh]),
    );
    expect(await reader.unreadCount(me, now, cursor)).toBe(2);
  });
});

describe('the in-memory order (live signals) and the MongoDB filters agree', () => {
  it('for every pair of notifications in an inbox of legacy, sequenced and re-sequenced ones', async () => {
    const me = readerOf(user('agree'));
    const t = Date.now();
    const docs: NotificationDoc[] = [
      draft(me.sub, new Date(t)),
      { ...draft(me.sub, new Date(t)), seq: 3 },
      { ...draft(me.sub, new Date(t - 5)), seq: 3 },
      { ...draft(me.sub, new Date(t + 5)), seq: 2 },
      { ...draft(me.sub, new Date(t - 9)), seq: 4 },
      { ...draft(me.sub, new Date(t)), seq: 1, late: 5 },
      { ...draft(me.sub, new Date(t + 1)), seq: 5 },
    ];
    await reader.collection.insertMany(docs);
    const place = (d: NotificationDoc) => ({
      id: d._id.toHexString(),
      createdAt: d.createdAt.toISOString(),
      ...(d.seq === undefined ? {} : { seq: d.seq }),
      ...(d.late === undefined ? {} : { late: d.late }),
    });
    const now = new Date();
    for (const at of docs) {
      const cursor = (await reader.resolve(me.inboxes, at._id.toHexString())) ?? START_CURSOR;
      const expected = docs.filter((d) => !isThrough(cursor, place(d))).map((d) => d._id.toHexString());
      const after = await reader.collection.find({ userId: me.sub, ...afterFilter(cursor) }).toArray();
      expect(ids(after).sort()).toEqual(expected.sort());
      expect(await reader.unreadCount(me, now, cursor)).toBe(docs.length - expected.length);
    }
  });
});
