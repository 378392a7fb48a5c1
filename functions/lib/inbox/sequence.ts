import { type Collection, type Db, MongoServerError } from 'mongodb';

/** The collection holding the inbox's one sequence document. */
export const SEQUENCE_COLLECTION = 'notification_sequence';
const ID = 'notifications';
/** The numbers handed out, one document each (`_id` the number): the unique `_id` makes each one once. */
export const NUMBERS_COLLECTION = 'notification_numbers';

/**
 * The order notifications become visible in, shared by every notify replica: one MongoDB document.
 * A writer `allocate`s a number (the next `_id` of `notification_numbers`: a duplicate key means another
 * writer took it, so it takes the next; an insert per number is atomic even on mongo-java-server, whose
 * findAndModify `$inc` handed out one number twice under concurrency), inserts its
 * notifications carrying it, then `commit`s it: records it done (only while the watermark is below it) and
 * moves the watermark `committed` over the run of done numbers right above it (a conditional updateOne on
 * `committed`; any writer moves it for the others too, so nobody waits for anybody). The watermark never
 * passes a number whose notifications are not visible yet: readers hand out cursors at or below it only.
 * A number still not done a lease after a later one was (its writer crashed, or is stuck) is passed over
 * by whoever reads the watermark next; its writer, if alive, finds its `commit` refused (false) and must
 * re-sequence what it inserted (a fresh number, so readers past the old one replay it). Clocks only decide
 * when a stuck number is passed over, never whether a notification is lost.
 */
export interface Sequence {
  /** A fresh number (1, 2, …), unique across replicas. */
  allocate(): Promise<number>;
  /**
   * Record `n` done (its notifications are visible) and move the watermark as far as it goes; does not
   * wait for smaller numbers. true: done (committed now, or once the smaller ones are); false: `n` was
   * passed over first.
   */
  commit(n: number): Promise<boolean>;
  /** The watermark (0 before the first commit), after passing over a number stuck longer than the lease. */
  committed(): Promise<number>;
}

export interface SequenceOptions {
  /**
   * How long a number may stay not done after a later one is done before it is passed over (default 2 s:
   * an insert takes milliseconds; a notify pod killed mid-insert holds live delivery back no longer).
   */
  readonly leaseMs?: number;
  /** The clock (default Date.now). */
  readonly now?: () => number;
}

interface Done {
  readonly n: number;
  /** When it was recorded done (the writer's clock, ms). */
  readonly at: number;
}

interface SequenceDoc {
  _id: string;
  /** The watermark: every number at or below it is committed (its notifications visible, or passed over). */
  committed: number;
  /** Numbers above the watermark whose notifications are visible. */
  done?: Done[];
}

const duplicateKey = (error: unknown) => error instanceof MongoServerError && error.code === 11000;

/** The end of the run of done numbers right above `from` (`from` itself when the next one is not done). */
function runEnd(from: number, done: readonly Done[]): number {
  const set = new Set(done.map((d) => d.n));
  let end = from;
  while (set.has(end + 1)) end += 1;
  return end;
}

export function createSequence(db: Db, options: SequenceOptions = {}): Sequence {
  const collection: Collection<SequenceDoc> = db.collection<SequenceDoc>(SEQUENCE_COLLECTION);
  const leaseMs = options.leaseMs ?? 2_000;
  const now = options.now ?? Date.now;
  const projection = { committed: 1, done: 1 } as const;
  const numbers: Collection<{ _id: number }> = db.collection<{ _id: number }>(NUMBERS_COLLECTION);
  /**
   * Move the watermark over the run of done numbers above it in `state` (and, with `passOver`, over a number
   * not done below one done longer than the lease), re-reading after a lost race; the watermark then.
   */
  const advance = async (state: SequenceDoc | null, passOver: boolean): Promise<number> => {
    for (let doc = state; ; doc = await collection.findOne({ _id: ID }, { projection })) {
      const committed = doc?.committed ?? 0;
      const done = doc?.done ?? [];
      let to = runEnd(committed, done);
      if (to === committed && passOver) {
        const stuckSince = Math.min(...done.map((d) => d.at));
        if (done.length > 0 && now() - stuckSince >= leaseMs)
          to = runEnd(Math.min(...done.map((d) => d.n)) - 1, done);
      }
      if (to === committed) return committed;
      const moved = await collection.updateOne(
        { _id: ID, committed },
        { $set: { committed: to }, $pull: { done: { n: { $lte: to } } } },
      );
      // Moved: whoever records a number done meanwhile sees it (after its own record) and moves on from there.
      if (moved.matchedCount > 0) {
        // The numbers below the watermark are no longer needed (the highest one stays: numbers never repeat).
        if (Math.floor(to / 64) > Math.floor(committed / 64))
          await numbers.deleteMany({ _id: { $lt: committed } });
        return to;
      }
    }
  };
  return {
    async allocate() {
      for (;;) {
        const [last] = await numbers
          .find({}, { projection: { _id: 1 } })
          .sort({ _id: -1 })
          .limit(1)
          .toArray();
        const n = (last?._id ?? 0) + 1;
        try {
          await numbers.insertOne({ _id: n });
          return n;
        } catch (error) {
          if (!duplicateKey(error)) throw error; // taken by another writer meanwhile: the next one
        }
      }
    },
    async commit(n) {
      // Done (refused once the watermark passed it), then the document as it is after that.
      const marked = await collection.updateOne(
        { _id: ID, committed: { $lt: n } },
        { $push: { done: { n, at: now() } } },
      );
      if (marked.matchedCount === 0) {
        const doc = await collection.findOne({ _id: ID }, { projection: { committed: 1 } });
        if (doc && doc.committed >= n) return false; // passed over
        if (!doc)
          await collection.insertOne({ _id: ID, committed: 0 }).catch((error: unknown) => {
            if (!duplicateKey(error)) throw error; // created by another writer meanwhile
          });
        return this.commit(n);
      }
      await advance(await collection.findOne({ _id: ID }, { projection }), false);
      return true;
    },
    committed: async () => advance(await collection.findOne({ _id: ID }, { projection }), true),
  };
}
