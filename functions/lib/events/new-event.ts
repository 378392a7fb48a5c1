import { randomUUID } from 'node:crypto';
import type { CloudEventV1 } from 'cloudevents';
import { dataSchemaUri, eventSpec } from '../../../events/catalogue.ts';
import { ValidationFailed } from '../errors.ts';
import { currentTraceparent } from '../tracing/trace-headers.ts';
import { validateEvent } from './validate-event.ts';

export interface NewEventOptions {
  /** Default: `/functions/<producer>` from the catalogue entry of `type`. */
  readonly source?: string;
  /** Default: `data.animeId` as a decimal string (Isekai's subject is the anime id). */
  readonly subject?: string;
}

/**
 * Build one of Isekai's own CloudEvents (CloudEvents 1.0): a fresh `id` (UUID v4), `time` now (RFC 3339
 * UTC), `source` from the catalogue's producer, `subject` from `data.animeId`, `dataschema` from the
 * catalogue, and the `traceparent` extension (CloudEvents distributed-tracing extension) of the request
 * or event being handled (the AsyncLocalStorage trace context), when there is one. Validated against the
 * catalogue before it is returned: an invalid event throws ValidationFailed before anything is written.
 * Frozen.
 * @example const event = newEvent('dev.isekai.rating.submitted.v1', { animeId: 1, … });
 *          await enqueue(tx, event);   // or embed it in a document's pending events
 */
export function newEvent<T extends object>(
  type: string,
  data: T,
  options: NewEventOptions = {},
): CloudEventV1<T> {
  const producer = eventSpec(type)?.producer;
  const source = options.source ?? (producer ? `/functions/${producer}` : undefined);
  if (!source) {
    throw new ValidationFailed(`unknown event type ${type}`, {
      issues: [{ field: '/type', message: 'is not in the Isekai event catalogue' }],
    });
  }
  const animeId = (data as { animeId?: unknown }).animeId;
  const subject = options.subject ?? (animeId === undefined ? undefined : String(animeId));
  const traceparent = currentTraceparent();
  const event: CloudEventV1<T> = Object.freeze({
    specversion: '1.0',
    id: randomUUID(),
    type,
    source,
    ...(subject === undefined ? {} : { subject }),
    time: new Date().toISOString(),
    datacontenttype: 'application/json',
    dataschema: dataSchemaUri(type),
    data,
    ...(traceparent ? { traceparent } : {}),
  });
  validateEvent(event);
  return event;
}
