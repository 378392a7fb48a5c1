import { ObjectId } from 'mongodb';

/**
 * A position in a reader's inboxes. On the wire (the SSE `id:` field, `Last-Event-ID`, `cursor` of
 * `GET /notifications/unread-count`, the site's `data-cursor`) it is a notification id (24 hex), or
 * START_CURSOR before the first notification. Meaning: "the client has accounted for every notification
 * at or before this one"; a stream opened from it replays what came after it.
 *
 * The order is the order notifications became visible: `seq`, the number notify took from the inbox's
 * sequence (sequence.ts) for its insert, then (createdAt, _id) within one insert. A notification whose writer
 * was passed over (it became visible after the watermark passed its number) carries `late`, a later number:
 * it is placed there, so it comes after every cursor handed out before it was visible (a cursor itself is
 * placed by the `seq` of its notification, which never changes). Notifications from before the sequence
 * have neither (they count as 0: before all others) and keep their (createdAt, _id) order among
 * themselves, so a cursor handed out before the sequence existed keeps its meaning, and every sequenced
 * notification comes after it.
 */
export interface Cursor {
  /** The wire form (24 hex). */
  readonly id: string;
  /** The `seq` of that notification (0: none, from before the sequence; or START_CURSOR). */
  readonly seq: number;
  /** createdAt of that notification as ISO 8601; '' for START_CURSOR (before everything). */
  readonly createdAt: string;
}

/** Before the first notification: an inbox that was empty when the cursor was taken. */
export const START_CURSOR: Cursor = { id: '0'.repeat(24), seq: 0, createdAt: '' };

/** The cursor of a stored notification (its own `seq`, not `late`: a cursor never moves). */
export const cursorOf = (doc: { _id: ObjectId; createdAt: Date; seq?: number }): Cursor => ({
  id: doc._id.toHexString(),
  seq: doc.seq ?? 0,
  createdAt: doc.createdAt.toISOString(),
});

/** What a notification is placed by: its id, createdAt (ISO) and, when stored with them, seq and late. */
export interface Placed {
  readonly id: string;
  readonly createdAt: string;
  readonly seq?: number;
  readonly late?: number;
}

/**
 * Whether a notification is at or before `cursor` (ISO strings of toISOString sort as times). The exact
 * complement of afterFilter, evaluated in memory.
 */
export function isThrough(cursor: Cursor, n: Placed): boolean {
  if (cursor.createdAt === '') return false;
  if (n.late !== undefined) return n.late <= cursor.seq; // re-sequenced: placed at its late number
  const seq = n.seq ?? 0;
  if (seq !== cursor.seq) return seq < cursor.seq;
  return n.createdAt < cursor.createdAt || (n.createdAt === cursor.createdAt && n.id <= cursor.id);
}

function afterBranches(cursor: Cursor): Record<string, unknown>[] {
  const at = new Date(cursor.createdAt);
  // Placed at the cursor's own number: not re-sequenced, and that seq (none for a cursor from before it).
  const same = { late: null, seq: cursor.seq === 0 ? null : cursor.seq };
  return [
    { seq: { $gt: cursor.seq } },
    { late: { $gt: cursor.seq } },
    { ...same, createdAt: { $gt: at } },
    { ...same, createdAt: at, _id: { $gt: new ObjectId(cursor.id) } },
  ];
}

/** MongoDB filter: notifications strictly after `cursor`. */
export function afterFilter(cursor: Cursor): Record<string, unknown> {
  if (cursor.createdAt === '') return {};
  return { $or: afterBranches(cursor) };
}

/** MongoDB filter: notifications at or before `cursor` (the complement of afterFilter). */
export function throughFilter(cursor: Cursor): Record<string, unknown> {
  if (cursor.createdAt === '') return { _id: { $exists: false } }; // nothing
  return { $nor: afterBranches(cursor) };
}

/** MongoDB filter: notifications whose place is at or below the sequence's watermark (committed). */
export const committedFilter = (watermark: number): Record<string, unknown> => ({
  $nor: [{ seq: { $gt: watermark } }, { late: { $gt: watermark } }],
});

/** MongoDB sort of that order, oldest first (a late one sorts by its own seq: see Inbox.after). */
export const ORDER = { seq: 1, createdAt: 1, _id: 1 } as const;
/** Newest first. */
export const NEWEST_FIRST = { seq: -1, createdAt: -1, _id: -1 } as const;
