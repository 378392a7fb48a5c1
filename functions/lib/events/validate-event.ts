import type { CloudEventV1 } from 'cloudevents';
import Type from 'typebox';
import { eventSpec } from '../../../events/catalogue.ts';
import { type FieldIssue, ValidationFailed } from '../errors.ts';
import { check } from '../validate.ts';
import { parseMediaType } from './media-type.ts';

/**
 * The CloudEvents 1.0 context attributes of an Isekai event. `subject` and `time` are optional, as in
 * the spec; a type whose catalogue entry says `subjectRequired` needs a subject (checked below).
 */
const Attributes = Type.Object({
  specversion: Type.Literal('1.0'),
  id: Type.String({ minLength: 1, maxLength: 128 }),
  source: Type.String({ minLength: 1, maxLength: 512 }),
  type: Type.String({ minLength: 1 }),
  subject: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  time: Type.Optional(Type.String({ format: 'date-time' })),
  datacontenttype: Type.Optional(Type.String({ minLength: 1 })),
  dataschema: Type.Optional(Type.String({ minLength: 1 })),
});

const CORE = new Set([
  'specversion',
  'id',
  'source',
  'type',
  'subject',
  'time',
  'datacontenttype',
  'dataschema',
  'data',
  'data_base64',
]);
/** CloudEvents extension names: lowercase alphanumeric (they become AMQP header names on the broker). */
export const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;

/** An Isekai CloudEvent whose attributes and data have been checked against the catalogue. */
export type CheckedEvent<T = unknown> = CloudEventV1<T> & { readonly data: T };

/**
 * Validate a CloudEvent against the catalogue: attributes, extension names and values, a known `type`,
 * and `data` against the type's schema. Throws ValidationFailed (a permanent error: 400 at an ingress,
 * dead-lettered or refused at a consumer) naming each bad field.
 * @example const event = validateEvent<RatingSubmittedV1>(incoming);
 */
export function validateEvent<T = unknown>(event: unknown): CheckedEvent<T> {
  if (typeof event !== 'object' || event === null)
    throw new ValidationFailed('a CloudEvent must be an object');
  const attrs = event as Record<string, unknown>;
  const picked: Record<string, unknown> = {};
  const issues: FieldIssue[] = [];
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined) continue;
    if (CORE.has(name)) {
      if (name !== 'data' && name !== 'data_base64') picked[name] = value;
    } else if (!EXTENSION_NAME.test(name)) {
      issues.push({
        field: `/${name}`,
        message: 'extension names are lowercase letters and digits, at most 20',
      });
    } else if (!['string', 'number', 'boolean'].includes(typeof value)) {
      issues.push({ field: `/${name}`, message: 'extension values are strings, integers or booleans' });
    }
  }
  if (issues.length > 0)
    throw new ValidationFailed(`invalid event: ${issues.map((i) => i.field).join(', ')}`, { issues });
  check(Attributes, picked, '');
  const media = parseMediaType(attrs.datacontenttype as string | undefined);
  if (attrs.datacontenttype !== undefined && media?.essence !== 'application/json') {
    throw new ValidationFailed(`datacontenttype ${String(attrs.datacontenttype)} is not JSON`, {
      issues: [
        { field: '/datacontenttype', message: 'must be application/json', allowed: ['application/json'] },
      ],
    });
  }
  const spec = eventSpec(String(attrs.type));
  if (!spec) {
    throw new ValidationFailed(`unknown event type ${String(attrs.type)}`, {
      issues: [{ field: '/type', message: 'is not in the Isekai event catalogue' }],
    });
  }
  check(spec.data, attrs.data, '/data');
  const animeId = (attrs.data as { animeId?: unknown }).animeId;
  if (attrs.subject === undefined && spec.subjectRequired) {
    throw new ValidationFailed(`${spec.type} needs a subject (the anime id)`, {
      issues: [{ field: '/subject', message: `is required for ${spec.type}: the anime id` }],
    });
  }
  if (animeId !== undefined && attrs.subject !== undefined && attrs.subject !== String(animeId)) {
    throw new ValidationFailed('subject must be the anime id of data.animeId', {
      issues: [{ field: '/subject', message: `must equal data.animeId (${String(animeId)})` }],
    });
  }
  return event as CheckedEvent<T>;
}
