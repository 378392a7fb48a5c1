import type { CloudEventV1 } from 'cloudevents';
import Type from 'typebox';
import { check } from '../lib/validate.ts';

/** The extensions a Knative broker adds to an event it dead-letters. */
export const ERROR_EXTENSIONS = ['knativeerrordest', 'knativeerrorcode', 'knativeerrordata'] as const;

/**
 * What a dead-letter sink needs of an incoming event. Deliberately not the catalogue: a dead letter may be
 * of a retired type or carry data a newer schema refuses, and it must still be recorded.
 */
const Envelope = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Type.String({ minLength: 1, maxLength: 256 }),
  source: Type.String({ minLength: 1, maxLength: 512 }),
  type: Type.String({ minLength: 1, maxLength: 256 }),
  subject: Type.Optional(Type.String({ maxLength: 512 })),
  knativeerrordest: Type.Optional(Type.String({ maxLength: 2048 })),
  knativeerrorcode: Type.Optional(
    Type.Union([Type.String({ pattern: '^-?[0-9]{1,3}$' }), Type.Integer({ minimum: -1, maximum: 999 })]),
  ),
  knativeerrordata: Type.Optional(Type.String()),
});

/** A dead-lettered event, decoded (pure: no I/O). */
export interface DeadLetter {
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | undefined;
  /** The subscriber URL that failed (`knativeerrordest`), '' when the broker did not say. */
  readonly errorDest: string;
  /** Its last HTTP status (`knativeerrorcode`), −1 for no answer; undefined when absent. */
  readonly errorCode: number | undefined;
  /** The start of its answer (`knativeerrordata`). */
  readonly errorData: string | undefined;
  /** The whole event as received, ready to store as JSON. */
  readonly event: Readonly<Record<string, unknown>>;
}

/**
 * Decode an incoming event as a dead letter; throws ValidationFailed (400: the broker drops it, there is
 * nowhere further to send it) naming the bad attribute.
 * @example const letter = toDeadLetter(event); letter.errorCode === 500
 */
export function toDeadLetter(incoming: CloudEventV1<unknown>): DeadLetter {
  const event: Record<string, unknown> = { ...incoming };
  for (const [k, v] of Object.entries(event)) if (v === undefined) delete event[k];
  if (Buffer.isBuffer(event.data) || event.data instanceof Uint8Array) {
    event.data_base64 = Buffer.from(event.data as Uint8Array).toString('base64');
    delete event.data;
  }
  const e = check<{
    id: string;
    source: string;
    type: string;
    subject?: string;
    knativeerrordest?: string;
    knativeerrorcode?: string | number;
    knativeerrordata?: string;
  }>(Envelope, event, '');
  return Object.freeze({
    eventId: e.id,
    source: e.source,
    type: e.type,
    subject: e.subject,
    errorDest: e.knativeerrordest ?? '',
    errorCode: e.knativeerrorcode === undefined ? undefined : Number(e.knativeerrorcode),
    errorData: e.knativeerrordata,
    event: Object.freeze(event),
  });
}

/** The original event of a dead letter, without the broker's error extensions (what a requeue sends). */
export function originalEvent(stored: Readonly<Record<string, unknown>>): CloudEventV1<unknown> {
  const event: Record<string, unknown> = { ...stored };
  for (const name of ERROR_EXTENSIONS) delete event[name];
  if (typeof event.data_base64 === 'string') {
    event.data = Buffer.from(event.data_base64, 'base64');
    delete event.data_base64;
  }
  return Object.freeze(event) as unknown as CloudEventV1<unknown>;
}
