import type { Collection, Db } from 'mongodb';
import {
  type EmbeddedOutboxOptions,
  embeddedOutbox,
  type WithPendingEvents,
} from '../events/embedded-outbox.ts';
import type { OutboxSource } from '../events/outbox-source.ts';
import { SUBTITLE_REPORTS, SUBTITLES } from './store.ts';

/**
 * The subtitle events left pending in `subtitles` and `subtitle_reports` documents (the broker was down
 * when they were written, or the producer stopped in between) as an outbox source: outbox-relay
 * publishes them on its PingSource tick, as it does the PostgreSQL outbox. Subtitles first, then
 * reports, each document's events in write order.
 * @example await relayOutbox(subtitleOutbox(mongo.db(name), { minAgeMs: 10_000 }), { send, log })
 */
export function subtitleOutbox(db: Db, options: EmbeddedOutboxOptions = {}): OutboxSource {
  return embeddedOutbox(
    [SUBTITLES, SUBTITLE_REPORTS].map((name) => db.collection(name) as Collection<WithPendingEvents>),
    options,
  );
}
