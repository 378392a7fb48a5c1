import { type Collection, type Db, MongoServerError } from 'mongodb';

/** The collection holding the inbox's one sequence document. */
export const SEQUENCE_COLLECTION = 'notification_sequence';
const ID = 'notifications';

interface SequenceDoc {
  _id: string;
  /** The last number handed out. */
  next: number;
  /** The watermark: every number at or below it is committed (its notifications visible, or abandoned). */
  committed: number;
}

/**
 * The order notifications become visible in, shared by every notify replica: one MongoDB document.
 * A writer `allocate`s a number (findOneAndUpdate `$inc`: atomic on one document), inserts its
 * notifications carrying it, then `commit`s it. Commits happen in number order (a conditional updateOne
 * `committed: n - 1 → n`), so the watermark `committed` never passes a number whose notifications are not
 * visible yet: readers hand out cursors at or below it only. A writer that stalls longer than the lease
 * (crashed, or stuck) is passed over by the next one; it learns so from its own `commit` (false) and must
 * then re-sequence what it inserted (a fresh number, so readers past the old one replay it).
 */
export interface Sequence {
  /** A fresh number (1, 2, …), unique across replicas. */
  allocate(): Promise<number>;
  /**
   * Move the watermark to `n` once every smaller number is committed (waiting for them up to the lease,
   * then passing over them). true: committed; false: a later writer passed over `n` first.
   */
  commit(n: number): Promise<boolean>;
  /** The watermark (0 before the first commit). */
  committed(): Promise<number>;
}

export interface SequenceOptions {
  /** How long a commit waits for a smaller number before passing over it (default 10 s). */
  readonly leaseMs?: number;
  /** The clock (default Date.now). */
  readonly now?: () => number;
}

const duplicateKey = (error: unknown) => error instanceof MongoServerError && error.code === 11000;

export function createSequence(db: Db, options: SequenceOptions = {}): Sequence {
  const collection: Collection<SequenceDoc> = db.collection<SequenceDoc>(SEQUENCE_COLLECTION);
  const leaseMs = options.leaseMs ?? 10_000;
  const now = options.now ?? Date.now;
  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const allocateOnce = () =>
    collection.findOneAndUpdate(
      { _id: ID },
      { $inc: { next: 1 }, $setOnInsert: { committed: 0 } },
      { upsert: true, returnDocument: 'after' },
    );
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
      const deadline = now() + leaseMs;
      for (let wait = 2; ; wait = Math.min(wait * 2, 50)) {
        const inOrder = await collection.updateOne({ _id: ID, committed: n - 1 }, { $set: { committed: n } });
        if (inOrder.matchedCount > 0) return true;
        if ((await this.committed()) >= n) return false;
        if (now() >= deadline) {
          const passed = await collection.updateOne(
            { _id: ID, committed: { $lt: n } },
            { $set: { committed: n } },
          );
          if (passed.matchedCount > 0) return true;
          continue; // it moved meanwhile: look again
        }
        await pause(wait);
      }
    },
    async committed() {
      const doc = await collection.findOne({ _id: ID }, { projection: { committed: 1 } });
      return doc?.committed ?? 0;
    },
  };
}
