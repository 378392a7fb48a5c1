import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import type { Collection, ObjectId } from 'mongodb';
import { asIsekaiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { OutboxBacklog, OutboxClaim, OutboxSource } from './outbox-source.ts';
import type { EventTransport } from './transport.ts';

/**
 * A MongoDB document that carries its own outbox (the write and its events in one document: one atomic
 * write without multi-document transactions). The relay's lease (`relayLeaseUntil`, `relayLeasedBy`) is
 * set only while a claim holds the document.
 */
export interface WithPendingEvents {
  _id: ObjectId;
  pendingEvents: CloudEventV1<unknown>[];
  relayLeaseUntil?: Date | null;
  relayLeasedBy?: string;
}

export interface PublishDeps {
  /** Undefined when no K_SINK is set: events stay pending for outbox-relay. */
  readonly send: EventTransport | undefined;
  readonly log: Logger;
}

// biome-ignore lint/suspicious/noExplicitAny: filters and updates on a generic document's fields
type Loose = any;

/** Pull sent events from a document's `pendingEvents`. */
function pull(collection: Collection<WithPendingEvents>, id: ObjectId, eventIds: readonly string[]) {
  return collection.updateOne(
    { _id: id } as Loose,
    {
      $pull: { pendingEvents: { id: { $in: [...eventIds] } } },
    } as Loose,
  );
}

/**
 * The producer's own publish: send events written into a document's `pendingEvents`, in order, pulling
 * each one sent. Never throws: what fails stays pending for outbox-relay (logged with its code). Returns
 * how many were sent.
 * @example await collection.insertOne({ …, pendingEvents: [event] }); await publishPending(deps, collection, id, [event]);
 */
export async function publishPending<D extends { _id: ObjectId; pendingEvents: CloudEventV1<unknown>[] }>(
  deps: PublishDeps,
  collection: Collection<D>,
  id: ObjectId,
  events: readonly CloudEventV1<unknown>[],
): Promise<number> {
  if (!deps.send) return 0;
  let sent = 0;
  for (const event of events) {
    try {
      await deps.send(event);
    } catch (error) {
      const failure = asIsekaiError(error);
      deps.log.warn(
        { code: failure.code, 'ce.id': event.id, 'ce.type': event.type, err: failure.message },
        'event left pending for the relay',
      );
      continue;
    }
    sent += 1;
    await pull(collection as unknown as Collection<WithPendingEvents>, id, [event.id]).catch(
      (error: unknown) =>
        deps.log.warn(
          { code: asIsekaiError(error).code, 'ce.id': event.id, err: error },
          'event sent but still marked pending; the relay will send it again',
        ),
    );
  }
  return sent;
}

/**
 * The index `embeddedOutbox`'s claim and backlog read through, on every collection it serves (created where
 * the collections' indexes are, `openCollections` in functions/lib/subtitles/store.ts): only documents with
 * at least one pending event are in it (a partial index: published events are pulled, and an emptied
 * `pendingEvents` leaves the index), keyed by the events' `time`. The claim's `pendingEvents.time ≤ cutoff`
 * and the backlog's `$exists` both imply the filter, so MongoDB's planner may use it; without it both read
 * every document of the collection.
 */
export const PENDING_EVENTS_INDEX = {
  key: { 'pendingEvents.time': 1 },
  options: {
    name: 'pending_events',
    partialFilterExpression: { 'pendingEvents.time': { $exists: true } },
  },
} as const;

export interface EmbeddedOutboxOptions {
  /** Leave events younger than this to their producer's own publish (default 10 s). */
  readonly minAgeMs?: number;
  /** How long a claim holds a document (default 120 s: longer than a batch of sends can take). */
  readonly leaseMs?: number;
  readonly now?: () => Date;
}

/**
 * The `pendingEvents` embedded in the documents of `collections` (in this order) as an
 * {@link OutboxSource}. A claim leases documents with due events one by one, oldest document (`_id`)
 * first, collection after collection (findOneAndUpdate setting
 * `relayLeaseUntil` + `relayLeasedBy` where no live lease is: two relays never hold the same document; a
 * relay that dies lets go when its lease ends); each document's due events are one sequence (they go out
 * in write order). `markPublished` pulls them from their documents, `release` lifts the lease (MongoDB
 * keeps no attempt count: a failure is logged by the relay and the event stays pending). `pending` sums
 * the `pendingEvents` of every document that has some, and takes the oldest first event's `time` (events
 * are pushed in write order), once per tick. Both read the documents with pending events only, through
 * {@link PENDING_EVENTS_INDEX} (create it on each collection).
 * @example await relayOutbox(embeddedOutbox([subtitles, reports]), { send, log })
 */
export function embeddedOutbox(
  collections: readonly Collection<WithPendingEvents>[],
  options: EmbeddedOutboxOptions = {},
): OutboxSource {
  const minAgeMs = options.minAgeMs ?? 10_000;
  const leaseMs = options.leaseMs ?? 120_000;
  const now = options.now ?? (() => new Date());
  return {
    name: `mongodb:${collections.map((c) => c.collectionName).join(',')}`,
    async claim(limit): Promise<OutboxClaim> {
      const at = now();
      const cutoff = at.getTime() - minAgeMs;
      const claimId = randomUUID();
      const held: {
        collection: Collection<WithPendingEvents>;
        id: ObjectId;
        events: CloudEventV1<unknown>[];
      }[] = [];
      let count = 0;
      for (const collection of collections) {
        while (count < limit) {
          const doc = await collection.findOneAndUpdate(
            {
              'pendingEvents.time': { $lte: new Date(cutoff).toISOString() },
              $or: [{ relayLeaseUntil: null }, { relayLeaseUntil: { $lte: at } }],
            } as Loose,
            { $set: { relayLeaseUntil: new Date(at.getTime() + leaseMs), relayLeasedBy: claimId } } as Loose,
            { sort: { _id: 1 }, projection: { pendingEvents: 1 }, returnDocument: 'after' },
          );
          if (!doc) break;
          // Events are pushed in write order, so the due ones come first.
          const events = doc.pendingEvents.filter((e) => Date.parse(String(e.time)) <= cutoff);
          held.push({ collection, id: doc._id, events });
          count += events.length;
        }
      }
      return {
        sequences: held.map((h) => h.events).filter((events) => events.length > 0),
        async markPublished(ids) {
          const published = new Set(ids);
          for (const h of held) {
            const sent = h.events.filter((e) => published.has(e.id)).map((e) => e.id);
            if (sent.length > 0) await pull(h.collection, h.id, sent);
          }
        },
        async release() {
          for (const collection of new Set(held.map((h) => h.collection)))
            await collection.updateMany(
              { relayLeasedBy: claimId } as Loose,
              { $unset: { relayLeaseUntil: '', relayLeasedBy: '' } } as Loose,
            );
        },
      };
    },
    async pending(): Promise<OutboxBacklog> {
      let count = 0;
      let oldest: string | undefined;
      for (const collection of collections) {
        const [totals] = await collection
          .aggregate<{ count: number; oldest: string | null }>([
            // The index's own filter (every event has a `time`: newEvent sets it, the claim needs it).
            { $match: PENDING_EVENTS_INDEX.options.partialFilterExpression },
            {
              $group: {
                _id: null,
                count: { $sum: { $size: '$pendingEvents' } },
                oldest: { $min: { $arrayElemAt: ['$pendingEvents.time', 0] } },
              },
            },
          ])
          .toArray();
        count += totals?.count ?? 0;
        // ISO-8601 UTC times (newEvent's toISOString) order as strings, as the claim's filter relies on.
        if (totals?.oldest && (oldest === undefined || totals.oldest < oldest)) oldest = totals.oldest;
      }
      return { count, oldest: oldest === undefined ? null : new Date(oldest) };
    },
  };
}
