import type { IncomingHttpHeaders } from 'node:http';
import { UnsupportedMediaType, ValidationFailed } from '../errors.ts';
import { isJsonMediaType, type MediaType, parseMediaType } from './media-type.ts';

/** How the events travelled (CloudEvents HTTP protocol binding 1.0, §3). */
export type ContentMode = 'binary' | 'structured' | 'batch';

/** What an HTTP request carried: one event (binary, structured) or a batch, as plain attribute maps. */
export interface DecodedMessage {
  readonly mode: ContentMode;
  /** Each event's attributes, extensions and `data`, exactly as sent: nothing is added (no `time`). */
  readonly events: readonly Record<string, unknown>[];
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';
/** The most events one batch may carry. */
export const BATCH_LIMIT = 100;

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** Binary-mode header values are percent-encoded where not printable ASCII (binding §3.1.3.2). */
function headerValue(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

function utf8(media: MediaType | undefined, body: Buffer): string {
  const charset = media?.params.charset;
  if (charset && charset !== 'utf-8' && charset !== 'utf8' && charset !== 'us-ascii')
    throw new UnsupportedMediaType(`charset ${charset} is not supported: send UTF-8`);
  return body.toString('utf8');
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ValidationFailed(`${where} is not valid JSON`, {
      cause: error,
      issues: [{ field: where, message: 'is not valid JSON' }],
    });
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A structured-mode (JSON format) event object: `data_base64` becomes bytes, nothing else changes. */
function fromJsonFormat(value: unknown, field: string): Record<string, unknown> {
  if (!isObject(value)) {
    throw new ValidationFailed(`${field || 'the event'} must be a JSON object`, {
      issues: [{ field: field || '/', message: 'must be a CloudEvent object' }],
    });
  }
  if (typeof value.data_base64 !== 'string') return { ...value };
  const { data_base64, ...rest } = value;
  return { ...rest, data: Buffer.from(data_base64, 'base64') };
}

function binary(headers: IncomingHttpHeaders, media: MediaType | undefined, body: Buffer) {
  const event: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!name.startsWith('ce-') || value === undefined) continue;
    event[name.slice(3)] = headerValue(Array.isArray(value) ? value.join(',') : value);
  }
  const contentType = header(headers, 'content-type');
  if (contentType !== undefined) event.datacontenttype = contentType;
  if (body.length > 0) {
    if (isJsonMediaType(media)) event.data = parseJson(utf8(media, body), '/data');
    else if (media?.essence.startsWith('text/')) event.data = utf8(media, body);
    else event.data = body;
  }
  return event;
}

/**
 * Decode a CloudEvents HTTP request in any content mode. The content type is compared as RFC 9110 says
 * (case-insensitive type, subtype and parameter names), so `Application/JSON;charset=UTF-8` is JSON.
 * Pure: no attribute is invented — an event sent without `time` has none. Validation of attributes and
 * data is the catalogue's job (`validateEvent`); this throws ValidationFailed only for what is not a
 * CloudEvent message at all (400), UnsupportedMediaType for a non-UTF-8 charset (415).
 * @example const { mode, events } = decodeHttpMessage(req.headers, body);
 */
export function decodeHttpMessage(headers: IncomingHttpHeaders, body: Buffer): DecodedMessage {
  const media = parseMediaType(header(headers, 'content-type'));
  if (media?.essence === BATCH) {
    const list = parseJson(utf8(media, body), '/');
    if (!Array.isArray(list) || list.length === 0) {
      throw new ValidationFailed('a batch is a non-empty JSON array of CloudEvents', {
        issues: [{ field: '/', message: 'must be a non-empty array of events' }],
      });
    }
    if (list.length > BATCH_LIMIT) {
      throw new ValidationFailed(`a batch holds at most ${BATCH_LIMIT} events (got ${list.length})`, {
        issues: [{ field: '/', message: `must hold at most ${BATCH_LIMIT} events` }],
      });
    }
    return { mode: 'batch', events: list.map((item, i) => fromJsonFormat(item, `/${i}`)) };
  }
  if (media?.essence === STRUCTURED) {
    return { mode: 'structured', events: [fromJsonFormat(parseJson(utf8(media, body), '/'), '')] };
  }
  if (header(headers, 'ce-specversion') !== undefined || header(headers, 'ce-id') !== undefined) {
    return { mode: 'binary', events: [binary(headers, media, body)] };
  }
  throw new ValidationFailed('not a CloudEvent: no ce-specversion header and not a CloudEvents media type', {
    issues: [{ field: '/specversion', message: 'is required' }],
  });
}
