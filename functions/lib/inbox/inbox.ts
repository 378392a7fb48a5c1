import { type Collection, type Db, MongoBulkWriteError, ObjectId } from 'mongodb';
import { parseAnimeId } from '../anime-id.ts';
import { DependencyUnavailable, NotFound } from '../errors.ts';
import type { Identity } from '../http/types.ts';
import {
  afterFilter,
  type Cursor,
  committedFilter,
  cursorOf,
  NEWEST_FIRST,
  ORDER,
  type Placed,
  START_CURSOR,
  throughFilter,
} from './cursor.ts';
import { createSequence, type Sequence, type SequenceOptions } from './sequence.ts';

/** The MongoDB collection holding every inbox. */
export const COLLECTION = 'notifications';
/** The shared inbox of the moderation team (users with role `moderator` or `admin` read it). */
export const MODERATION_INBOX = 'role:moderator';
/** Roles that read the moderation inbox. */
export const MODERATOR_ROLES: readonly string[] = ['moderator', 'admin'];

export type NotificationKind =
  | 'subtitle.uploaded'
  | 'subtitle.next-episode'
  | 'episode.aired'
  | 'subtitle.reported'
  | 'subtitle.removed'
  | 'subtitle.hidden'
  | 'subtitle.restored'
  | 'group.invited'
  | 'group.release';

/**
 * Something the reader can do from the notification itself: send `method` to `url` (a path of the API
 * origin, with the reader's token), e.g. accept an invitation. Performing it is idempotent; once the
 * notification is done (`doneAt`) it carries no actions any more.
 */
export interface NotificationAction {
  /** Stable name for clients: `accept`, `decline`. */
  readonly name: string;
  /** What a button says: `Accept`. */
  readonly label: string;
  readonly method: 'POST' | 'PUT' | 'DELETE';
  readonly url: string;
}

/** One stored notification: one inbox (a user id or MODERATION_INBOX), one event. */
export interface NotificationDoc {
  _id: ObjectId;
  userId: string;
  eventId: string;
  kind: NotificationKind;
  /** Catalogue id (integer; null for notifications about no anime). Older documents may hold a decimal string. */
  animeId: number | string | null;
  message: string;
  data: Record<string, unknown>;
  createdAt: Date;
  /**
   * Its place in the order notifications became visible (cursor.ts): the number its insert took from the
   * inbox's sequence. Set by Inbox.insertOnce (what a writer passes is replaced); absent on documents from
   * before the sequence.
   */
  seq?: number;
  /** Set when its writer was passed over (sequence.ts): the later number it is replayed at. */
  late?: number;
  /**
   * Personal inbox: when its owner read it. Shared (moderation) inbox: always null for new documents
   * (read state is per moderator, in `readBy`); a non-null value from before `readBy` existed counts as
   * read by every moderator.
   */
  readAt: Date | null;
  /** Shared (moderation) inbox only: when each moderator (by token `sub`) read it. */
  readBy?: Record<string, Date>;
  /** Actions the reader can take (absent: none). */
  actions?: NotificationAction[];
  /** When its action was taken (or made moot): the actions are no longer offered. */
  doneAt?: Date | null;
  /**
   * 1: ranked first while unread (next-episode subtitles); absent: by time. Removed when read (every
   * ordinary document has none, so they sort alike: MongoDB sorts a missing field below any number).
   */
  rank?: number;
  /** The TTL index removes it after this instant (reads filter on it too). */
  expiresAt: Date;
}

/** What clients see of a notification (JSON body, SSE `data:` and Redis live signal alike). */
export interface NotificationView {
  readonly id: string;
  readonly kind: NotificationKind;
  /** Catalogue id of the anime (an integer, as everywhere in the API). */
  readonly animeId: number | null;
  readonly message: string;
  readonly data: Record<string, unknown>;
  readonly createdAt: string;
  readonly readAt: string | null;
  /** 'moderation' for the shared moderation inbox, 'personal' otherwise. */
  readonly inbox: 'personal' | 'moderation';
  /** What the reader can do from it ([] when none, or once done). */
  readonly actions: readonly NotificationAction[];
  /** When its action was taken; null while open (or when it has none). */
  readonly doneAt: string | null;
  /** Ranked first in the inbox (next-episode subtitles) until read. */
  readonly prominent: boolean;
}

/** The Redis pub/sub channel carrying live notifications of one inbox. */
export const channelOf = (prefix: string, inbox: string): string => `${prefix}notifications:${inbox}`;

/** The inboxes a caller reads: their own, plus the moderation inbox for moderators. */
export function inboxesOf(identity: Pick<Identity, 'sub' | 'roles'>): string[] {
  const moderator = identity.roles.some((role) => MODERATOR_ROLES.includes(role));
  return moderator ? [identity.sub, MODERATION_INBOX] : [identity.sub];
}

/**
 * Who reads: their `sub` (the key of their read state in shared inboxes) and the inboxes they read
 * (inboxesOf). Every read and mark goes through one.
 */
export interface Reader {
  readonly sub: string;
  readonly inboxes: readonly string[];
}

/** The reader of a verified identity. */
export const readerOf = (identity: Pick<Identity, 'sub' | 'roles'>): Reader => ({
  sub: identity.sub,
  inboxes: inboxesOf(identity),
});

/**
 * The MongoDB path of one moderator's read time in `readBy`. A `sub` is a Keycloak user id (a UUID);
 * anything else that could not be a field name (`.` nests, a leading `$` is an operator) is hex-encoded.
 */
export const readByPath = (sub: string): string =>
  `readBy.${/^[A-Za-z0-9_-]+$/.test(sub) ? sub : `x${Buffer.from(sub).toString('hex')}`}`;
const readByKey = (sub: string): string => readByPath(sub).slice('readBy.'.length);

/** When `sub` read it: the personal readAt, or their entry in a shared document's readBy (legacy readAt wins). */
export function readAtFor(doc: NotificationDoc, sub: string | undefined): Date | null {
  if (doc.userId !== MODERATION_INBOX) return doc.readAt;
  return doc.readAt ?? (sub === undefined ? null : (doc.readBy?.[readByKey(sub)] ?? null));
}

/**
 * The client's view, as `reader` (its `sub`) sees it: in the shared moderation inbox `readAt` is that
 * moderator's own. Without a reader (a live signal, published once for every listener) a shared
 * document reads as unread: it is new.
 */
export function toView(doc: NotificationDoc, reader?: string): NotificationView {
  const readAt = readAtFor(doc, reader);
  return {
    id: doc._id.toHexString(),
    kind: doc.kind,
    animeId: parseAnimeId(doc.animeId) ?? null,
    message: doc.message,
    data: doc.data,
    createdAt: doc.createdAt.toISOString(),
    readAt: readAt ? readAt.toISOString() : null,
    inbox: doc.userId === MODERATION_INBOX ? 'moderation' : 'personal',
    actions: doc.doneAt ? [] : (doc.actions ?? []),
    doneAt: doc.doneAt ? doc.doneAt.toISOString() : null,
    prominent: (doc.rank ?? 0) > 0 && readAt === null,
  };
}

/** A notification id from a client: a 24-hex ObjectId, else undefined. */
export function parseId(id: string): ObjectId | undefined {
  return /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : undefined;
}

export interface Inbox {
  readonly collection: Collection<NotificationDoc>;
  /** Create the indexes once (idempotent; retried on the next call after a failure). */
  ready(): Promise<void>;
  /**
   * Insert each document once per (userId, eventId), all with one number from the sequence (`seq`), and
   * commit that number; returns those this call inserted. Cursors handed out meanwhile stay before them.
   */
  insertOnce(docs: NotificationDoc[]): Promise<NotificationDoc[]>;
  /** The reader's notifications (`unread`: those unread by this reader; shared ones per moderator). */
  list(
    reader: Reader,
    options: { unread: boolean; page: number; limit: number; now: Date },
  ): Promise<{ items: NotificationDoc[]; hasMore: boolean }>;
  /**
   * How many are unread by this reader (a shared notification another moderator read still counts);
   * with `through`, only those at or before that cursor (so a count and its cursor agree).
   */
  unreadCount(reader: Reader, now: Date, through?: Cursor): Promise<number>;
  /**
   * The cursor of the newest committed notification in these inboxes (START_CURSOR when there is none):
   * everything at or before it is visible, so a count through it is what the client accounted for.
   */
  newest(inboxes: readonly string[], now: Date): Promise<Cursor>;
  /**
   * A client's cursor (`Last-Event-ID`): START_CURSOR for 24 zeros, the cursor of that notification when it
   * is in these inboxes, else undefined (unknown or expired).
   */
  resolve(inboxes: readonly string[], id: string): Promise<Cursor | undefined>;
  /**
   * Mark one read for this reader (idempotent): personal → readAt; shared → readBy.<sub> (the other
   * moderators still see it unread). NotFound when it is not in the reader's inboxes.
   */
  markRead(reader: Reader, id: ObjectId, now: Date): Promise<void>;
  /**
   * Where those of these ids (24 hex) that are stored stand in the cursor order (expired or not): a live
   * signal of one missing here was never stored.
   */
  stored(ids: readonly string[]): Promise<Map<string, Placed>>;
  /** Mark every one unread by this reader read for them; returns how many changed. */
  markAllRead(reader: Reader, now: Date): Promise<number>;
  /**
   * Mark done (and read) every open notification of `kind` whose `data[key]` is `value`, recording
   * `outcome` in `data.outcome`; returns how many changed (0 when already done: idempotent).
   */
  markDone(kind: NotificationKind, key: string, value: string, outcome: string, now: Date): Promise<number>;
  /**
   * What came after `cursor` (Last-Event-ID) and is committed, oldest first, at most `limit`. After sending
   * a prefix of it, the cursor of its last one is a safe resume point (everything at or before it was sent).
   */
  after(inboxes: readonly string[], cursor: Cursor, now: Date, limit: number): Promise<NotificationDoc[]>;
}

/**
 * The inbox store. Production runs MongoDB (the TTL index deletes expired documents); tests run
 * mongo-java-server, whose TTL indexes never delete: every read filters `expiresAt > now` as well.
 * There are no multi-document transactions here: writes are made idempotent by the unique
 * {userId, eventId} index instead (a retried event inserts only what is missing). The cursor order is the
 * sequence's (sequence.ts; `options` are its lease and clock).
 */
export function createInbox(db: Db, options: SequenceOptions & { readonly sequence?: Sequence } = {}): Inbox {
  const collection = db.collection<NotificationDoc>(COLLECTION);
  const sequence = options.sequence ?? createSequence(db, options);
  let indexes: Promise<void> | undefined;
  const live = (inboxes: readonly string[], now: Date) => ({
    userId: { $in: [...inboxes] },
    expiresAt: { $gt: now },
  });
  const personal = (reader: Reader) => reader.inboxes.filter((i) => i !== MODERATION_INBOX);
  const shared = (reader: Reader) => reader.inboxes.includes(MODERATION_INBOX);
  /** Unread by this reader: personal readAt null; shared readAt null (legacy) and no readBy.<sub>. */
  const unreadBy = (reader: Reader, now: Date) => {
    const mine = { ...live(personal(reader), now), readAt: null };
    if (!shared(reader)) return mine;
    return {
      $or: [
        mine,
        {
          userId: MODERATION_INBOX,
          expiresAt: { $gt: now },
          readAt: null,
          [readByPath(reader.sub)]: { $exists: false },
        },
      ],
    };
  };
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (error) {
      if (error instanceof NotFound) throw error;
      throw new DependencyUnavailable('mongodb', { cause: error });
    }
  };
  return {
    collection,
    ready() {
      indexes ??= (async () => {
        await collection.createIndex({ userId: 1, eventId: 1 }, { unique: true, name: 'user_event' });
        await collection.createIndex({ userId: 1, createdAt: -1 }, { name: 'user_created' });
        await collection.createIndex({ userId: 1, rank: -1, createdAt: -1 }, { name: 'user_rank_created' });
        await collection.createIndex({ userId: 1, seq: -1, createdAt: -1 }, { name: 'user_seq' });
        await collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: 'expires' });
      })().catch((error: unknown) => {
        indexes = undefined;
        throw new DependencyUnavailable('mongodb', { cause: error });
      });
      return indexes;
    },
    async insertOnce(drafts) {
      if (drafts.length === 0) return [];
      await this.ready();
      const seq = await guarded(() => sequence.allocate());
      const docs = drafts.map((doc) => ({ ...doc, seq }));
      let stored: NotificationDoc[] = [];
      let failure: unknown;
      try {
        await collection.insertMany(docs, { ordered: false });
        stored = docs;
      } catch (error) {
        const errors = error instanceof MongoBulkWriteError ? [error.writeErrors].flat() : [];
        if (errors.length > 0 && errors.every((e) => e.code === 11000)) {
          const duplicate = new Set(errors.map((e) => e.index));
          stored = docs.filter((_, i) => !duplicate.has(i));
        } else failure = error;
      }
      // Committed even when the insert failed (some may have landed): the next writers wait for it.
      await guarded(async () => {
        if ((await sequence.commit(seq)) || stored.length === 0) return;
        // Passed over: a cursor may already stand past `seq` without them. Place them after it.
        for (;;) {
          const late = await sequence.allocate();
          await collection.updateMany({ _id: { $in: stored.map((d) => d._id) } }, { $set: { late } });
          for (const doc of stored) doc.late = late;
          if (await sequence.commit(late)) return;
        }
      });
      if (failure) throw new DependencyUnavailable('mongodb', { cause: failure });
      return stored;
    },
    list: (reader, { unread, page, limit, now }) =>
      guarded(async () => {
        const filter = unread ? unreadBy(reader, now) : live(reader.inboxes, now);
        const found = await collection
          .find(filter)
          .sort({ rank: -1, createdAt: -1, _id: -1 })
          .skip((page - 1) * limit)
          .limit(limit + 1)
          .toArray();
        return { items: found.slice(0, limit), hasMore: found.length > limit };
      }),
    unreadCount: (reader, now, through) =>
      guarded(() =>
        collection.countDocuments(
          through ? { $and: [unreadBy(reader, now), throughFilter(through)] } : unreadBy(reader, now),
        ),
      ),
    newest: (inboxes, now) =>
      guarded(async () => {
        const committed = committedFilter(await sequence.committed());
        const [doc] = await collection
          .find({ ...live(inboxes, now), ...committed }, { projection: { _id: 1, createdAt: 1, seq: 1 } })
          .sort(NEWEST_FIRST)
          .limit(1)
          .toArray();
        return doc ? cursorOf(doc) : START_CURSOR;
      }),
    resolve: (inboxes, id) =>
      guarded(async () => {
        if (id === START_CURSOR.id) return START_CURSOR;
        const _id = parseId(id);
        if (!_id) return undefined;
        const doc = await collection.findOne(
          { _id, userId: { $in: [...inboxes] } },
          { projection: { _id: 1, createdAt: 1, seq: 1 } },
        );
        return doc ? cursorOf(doc) : undefined;
      }),
    markRead: (reader, id, now) =>
      guarded(async () => {
        const result = await collection.updateOne(
          { _id: id, ...live(personal(reader), now), readAt: null },
          { $set: { readAt: now }, $unset: { rank: '' } },
        );
        if (result.matchedCount > 0) return;
        if (shared(reader)) {
          const own = await collection.updateOne(
            {
              _id: id,
              userId: MODERATION_INBOX,
              expiresAt: { $gt: now },
              readAt: null,
              [readByPath(reader.sub)]: { $exists: false },
            },
            { $set: { [readByPath(reader.sub)]: now } },
          );
          if (own.matchedCount > 0) return;
        }
        const exists = await collection.countDocuments({ _id: id, ...live(reader.inboxes, now) });
        if (exists === 0) throw new NotFound(`no notification ${id.toHexString()}`);
      }),
    stored: (ids) =>
      guarded(async () => {
        const valid = ids.map(parseId).filter((id) => id !== undefined);
        const placed = new Map<string, Placed>();
        if (valid.length === 0) return placed;
        const found = await collection
          .find({ _id: { $in: valid } }, { projection: { _id: 1, createdAt: 1, seq: 1, late: 1 } })
          .toArray();
        for (const d of found) {
          const id = d._id.toHexString();
          placed.set(id, { id, createdAt: d.createdAt.toISOString(), seq: d.seq, late: d.late });
        }
        return placed;
      }),
    markAllRead: (reader, now) =>
      guarded(async () => {
        const mine = await collection.updateMany(
          { ...live(personal(reader), now), readAt: null },
          { $set: { readAt: now }, $unset: { rank: '' } },
        );
        if (!shared(reader)) return mine.modifiedCount;
        const own = await collection.updateMany(
          {
            userId: MODERATION_INBOX,
            expiresAt: { $gt: now },
            readAt: null,
            [readByPath(reader.sub)]: { $exists: false },
          },
          { $set: { [readByPath(reader.sub)]: now } },
        );
        return mine.modifiedCount + own.modifiedCount;
      }),
    markDone: (kind, key, value, outcome, now) =>
      guarded(async () => {
        const result = await collection.updateMany(
          { kind, [`data.${key}`]: value, doneAt: null },
          { $set: { doneAt: now, readAt: now, 'data.outcome': outcome }, $unset: { rank: '' } },
        );
        return result.modifiedCount;
      }),
    after: (inboxes, cursor, now, limit) =>
      guarded(async () => {
        // The watermark first: everything at or below it is visible to the query that follows.
        const committed = committedFilter(await sequence.committed());
        return collection
          .find({ ...live(inboxes, now), ...afterFilter(cursor), ...committed })
          .sort(ORDER)
          .limit(limit)
          .toArray();
      }),
  };
}
