import type { CloudEventV1 } from 'cloudevents';
import type { Collection, ObjectId } from 'mongodb';
import { asIsekaiError } from '../errors.ts';
import type { EventTransport } from '../events/transport.ts';
import type { Logger } from '../logger.ts';
import type { SubtitleCollections } from './store.ts';

/** A document that carries its own outbox (MongoDB here has no multi-document transactions). */
interface WithPending {
  _id: ObjectId;
  pendingEvents: CloudEventV1<unknown>[];
}

export interface PublishDeps {
  /** Undefined when no K_SINK is set: events stay pending for a relay with a sink. */
  readonly send: EventTransport | undefined;
  readonly log: Logger;
}

/**
 * Publish events written into a document's `pendingEvents`, pulling each one sent. Never throws: what
 * fails stays pending for `relayPendingSubtitleEvents` (logged with its code). Returns how many were sent.
 */
export async function publishPending<D extends WithPending>(
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
    await collection
      // biome-ignore lint/suspicious/noExplicitAny: $pull on a generic document's array field
      .updateOne({ _id: id } as any, { $pull: { pendingEvents: { id: event.id } } } as any)
      .catch((error: unknown) =>
        deps.log.warn(
          { code: asIsekaiError(error).code, 'ce.id': event.id, err: error },
          'event sent but still marked pending; the relay will send it again',
        ),
      );
  }
  return sent;
}

export interface RelayOptions {
  /** Leave events younger than this to their producer's own publish (default 10 s). */
  readonly minAgeMs?: number;
  /** Documents looked at per run (default 200). */
  readonly maxDocuments?: number;
  readonly now?: () => Date;
}

/**
 * Publish events left pending in subtitle and report documents (the broker was down when they were
 * written, or the producer stopped in between). Consumers dedupe by event id, so a rare double send is
 * harmless. Stops at the first failing send (the broker is down: the next run tries again).
 */
export async function relayPendingSubtitleEvents(
  deps: PublishDeps & { readonly collections: SubtitleCollections },
  options: RelayOptions = {},
): Promise<{ published: number; failed: number }> {
  const cutoff = (options.now?.() ?? new Date()).getTime() - (options.minAgeMs ?? 10_000);
  let published = 0;
  let failed = 0;
  const { subtitles, reports } = deps.collections;
  for (const collection of [subtitles, reports] as unknown as Collection<WithPending>[]) {
    const docs = await collection
      .find({ 'pendingEvents.0': { $exists: true } }, { projection: { pendingEvents: 1 } })
      .limit(options.maxDocuments ?? 200)
      .toArray();
    for (const doc of docs) {
      const due = doc.pendingEvents.filter((e) => Date.parse(String(e.time)) <= cutoff);
      if (due.length === 0) continue;
      const sent = await publishPending(deps, collection, doc._id, due);
      published += sent;
      failed += due.length - sent;
      if (sent < due.length) return { published, failed };
    }
  }
  return { published, failed };
}
