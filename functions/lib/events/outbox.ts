import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';

/** What a producer knows about an event; id, time and specversion are filled in by `enqueue`. */
export interface NewEvent<T> {
  readonly type: string;
  /** The producing function, as a URI reference: `/functions/rate-anime`. */
  readonly source: string;
  /** The anime id the event is about. */
  readonly subject?: string;
  readonly data: T;
  /** W3C trace context of the change, carried as the CloudEvents distributed-tracing extension. */
  readonly traceparent?: string;
}

/**
 * Write an event to the transactional outbox inside the caller's transaction (all-or-nothing with the
 * change it describes). Returns the CloudEvent to publish once the transaction has committed.
 * @example await db.transaction(async (tx) => { …; events.push(await enqueue(tx, {...})); });
 */
export async function enqueue<T>(client: pg.ClientBase, event: NewEvent<T>): Promise<CloudEventV1<T>> {
  const ce: CloudEventV1<T> = Object.freeze({
    specversion: '1.0',
    id: randomUUID(),
    type: event.type,
    source: event.source,
    ...(event.subject !== undefined ? { subject: event.subject } : {}),
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: event.data,
    ...(event.traceparent ? { traceparent: event.traceparent } : {}),
  });
  await client.query('insert into outbox (id, type, source, subject, event) values ($1, $2, $3, $4, $5)', [
    ce.id,
    ce.type,
    ce.source,
    ce.subject ?? null,
    JSON.stringify(ce),
  ]);
  return ce;
}
