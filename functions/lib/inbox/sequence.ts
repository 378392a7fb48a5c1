import { type Collection, type Db, MongoServerError } from 'mongodb';

/** The collection holding the inbox's one sequence document. */
export const SEQUENCE_COLLECTION = 'notification_sequence';
const ID = 'notifications';

/**
 * The order notifications become visible in, shared by every notify replica: one MongoDB document.
 * A writer `allocate`s a number (findOneAndUpdate `$inc`: atomic on one document), inserts its
 * notifications carrying it, then `commit`s it: adds it to `done` (only while the watermark is below it),
 * and moves the watermark `committed` over the run of done numbers right above it (a conditional updateOne
 * on `committed`, which any writer may do for the others). So the watermark never passes a number whose
 * notifications are not visible yet, and readers hand out cursors at or below it only. A number whose
 * writer stalls longer than the lease (crashed, or stuck) is passed over by a later writer; its own
 * `commit` then answers false and it must re-sequence what it inserted (a fresh number, so readers past
 * the old one replay it).
 */
export interface Sequence {
  /** A fresh number (1, 2, …), unique across replicas. */
  allocate(): Promise<number>;
  /**
   * Mark `n` done and return once the watermark is at or past it (waiting for smaller numbers up to the
   * lease, then passing over them). true: committed; false: a later writer passed over `n` first.
   */
  commit(n: number): Promise<boolean>;
  /** The watermark (0 before the first commit). */
  committed(): Promise<number>;
}

export interface SequenceOptions {
  /**
   * How long a commit waits for a smaller number before passing over it (default 2 s: an insert takes
   * milliseconds; a notify pod killed mid-insert holds the watermark, so live delivery, no longer than this).
   */
  readonly leaseMs?: number;
  /** The clock (default Date.now). */
  readonly now?: () => number;
}

interface SequenceDoc {
  _id: string;
  /** The last number handed out. */
  next: number;
  /** The watermark: every number at or below it is committed (its notifications visible, or passed over). */
  committed: number;
  /** Numbers above the watermark whose notifications are visible. */
  done?: number[];
}

const duplicateKey = (error: unknown) => error instanceof MongoServerError && error.code === 11000;

/** The end of the run of done numbers right above `from` (`from` itself when the next one is not done). */
function runEnd(from: number, done: readonly number[]): number {
  const set = new Set(done);
  let end = from;
  while (set.has(end + 1)) end += 1;
  return end;
}

export function createSequence(db: Db, options: SequenceOptions = {}): Sequence {
  const collection: Collection<SequenceDoc> = db.collection<SequenceDoc>(SEQUENCE_COLLECTION);
  const leaseMs = options.leaseMs ?? 2_000;
  const now = options.now ?? Date.now;
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const allocateOnce = () =>
    collection.findOneAndUpdate(
      { _id: ID },
      { $inc: { next: 1 }, $setOnInsert: { committed: 0 } },
      { upsert: true, returnDocument: 'after' },
    );
  /** Move the watermark from `from` to `to` (and forget the done numbers it passed); false if it moved meanwhile. */
  const move = async (from: number, to: number) =>
    (
      await collection.updateOne(
        { _id: ID, committed: from },
        { $set: { committed: to }, $pull: { done: { $lte: to } } },
      )
    ).matchedCount > 0;
  return {
    async allocate() {
      // Two first allocations may both try to create the document: the loser retries as an update.
      const doc = await allocateOnce().catch((error: unknown) => {
        if (duplicateKey(error)) return allocateOnce();
        throw error;
      });
      if (!doc) throw new Error('the notification sequence did not answer');
      return doc.next;
    },
    async commit(n) {
      // Done, and the document as it is then: one round trip (null: passed over before it was done).
      let state = await collection.findOneAndUpdate(
        { _id: ID, committed: { $lt: n } },
        { $addToSet: { done: n } },
        { returnDocument: 'after', projection: { committed: 1, done: 1 } },
      );
      if (!state) return false;
      const deadline = now() + leaseMs;
      for (let wait = 1; ; wait = Math.min(wait * 2, 5)) {
        const committed = state?.committed ?? 0;
        const done = state?.done ?? [];
        if (committed >= n) return true;
        // Over the run of done numbers right above the watermark (this writer's, and others' it helps);
        // after the lease, over the smaller numbers not done either (their writers re-sequence).
        const end = runEnd(committed, done);
        const to = end > committed ? end : now() >= deadline ? runEnd(n, done) : undefined;
        if (to === undefined) await pause(wait);
        else if ((await move(committed, to)) && to >= n) return true;
        state = await collection.findOne({ _id: ID }, { projection: { committed: 1, done: 1 } });
      }
    },
    async committed() {
      const doc = await collection.findOne({ _id: ID }, { projection: { committed: 1 } });
      return doc?.committed ?? 0;
    },
  };
}
