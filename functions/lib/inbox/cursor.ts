import { ObjectId } from 'mongodb';

/**
 * A position in a reader's inboxes, in the order the stream replays them: (createdAt, _id) ascending.
 * On the wire (the SSE `id:` field, `Last-Event-ID`, `cursor` of `GET /notifications/unread-count`) it is
 * a notification id (24 hex), or START_CURSOR before the first notification. Meaning: "the client has
 * accounted for every notification at or before this one"; a stream opened from it replays what came after
 * it and drops live signals of notifications at or before it.
 */
export interface Cursor {
  /** The wire form (24 hex). */
  readonly id: string;
  /** createdAt of that notification as ISO 8601; '' for START_CURSOR (before everything). */
  readonly createdAt: string;
}

/** Before the first notification: an inbox that was empty when the cursor was taken. */
export const START_CURSOR: Cursor = { id: '0'.repeat(24), createdAt: '' };

/** The cursor of a stored notification. */
export const cursorOf = (doc: { _id: ObjectId; createdAt: Date }): Cursor => ({
  id: doc._id.toHexString(),
  createdAt: doc.createdAt.toISOString(),
});

/** Whether notification (createdAt ISO, id hex) is at or before `cursor` (ISO strings of toISOString sort as times). */
export const isThrough = (
  cursor: Cursor,
  view: { readonly id: string; readonly createdAt: string },
): boolean =>
  view.createdAt < cursor.createdAt || (view.createdAt === cursor.createdAt && view.id <= cursor.id);

/** MongoDB filter: notifications strictly after `cursor`. */
export function afterFilter(cursor: Cursor): Record<string, unknown> {
  if (cursor.createdAt === '') return {};
  const at = new Date(cursor.createdAt);
  const id = new ObjectId(cursor.id);
  return { $or: [{ createdAt: { $gt: at } }, { createdAt: at, _id: { $gt: id } }] };
}

/** MongoDB filter: notifications at or before `cursor`. */
export function throughFilter(cursor: Cursor): Record<string, unknown> {
  if (cursor.createdAt === '') return { _id: { $exists: false } }; // nothing
  const at = new Date(cursor.createdAt);
  const id = new ObjectId(cursor.id);
  return { $or: [{ createdAt: { $lt: at } }, { createdAt: at, _id: { $lte: id } }] };
}
