import type { CloudEventV1 } from 'cloudevents';

/** An HTTP message: what a transport sends. Pure data; encoding never does I/O. */
export interface HttpMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

const NOT_HEADERS = new Set(['data', 'data_base64', 'datacontenttype']);

function bodyOf(event: CloudEventV1<unknown>): string | Buffer {
  const { data } = event;
  if (data === undefined) return '';
  if (Buffer.isBuffer(data) || typeof data === 'string') return data;
  if (data instanceof Uint8Array) return Buffer.from(data);
  return JSON.stringify(data);
}

/**
 * Binary mode (the default, what Knative brokers pass through untouched): every attribute and extension
 * as a `ce-<name>` header, `datacontenttype` as Content-Type, `data` as the body.
 * @example const { headers, body } = toBinary(event); await fetch(sink, { method: 'POST', headers, body });
 */
export function toBinary(event: CloudEventV1<unknown>): HttpMessage {
  const headers: Record<string, string> = {
    'content-type': event.datacontenttype ?? 'application/json',
  };
  for (const [name, value] of Object.entries(event)) {
    if (NOT_HEADERS.has(name) || value === undefined || value === null) continue;
    headers[`ce-${name}`] = value instanceof Date ? value.toISOString() : String(value);
  }
  return { headers, body: bodyOf(event) };
}

/** Structured mode: the whole event as `application/cloudevents+json`. */
export function toStructured(event: CloudEventV1<unknown>): HttpMessage {
  const { data, ...attributes } = event;
  const envelope: Record<string, unknown> = { ...attributes };
  if (Buffer.isBuffer(data) || data instanceof Uint8Array)
    envelope.data_base64 = Buffer.from(data).toString('base64');
  else if (data !== undefined) envelope.data = data;
  return {
    headers: { 'content-type': 'application/cloudevents+json; charset=utf-8' },
    body: JSON.stringify(envelope),
  };
}
