/**
 * CloudEvent ↔ AMQP message, as the eventing-rabbitmq ingress and dispatcher do it (pure): attributes
 * and extensions become AMQP headers named without the `ce-` prefix (so Trigger filters match header
 * names directly), `datacontenttype` becomes `content-type`, the data is the body, and the W3C trace
 * context rides in `traceparent` / `tracestate`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CloudEventV1 } from 'cloudevents';

export interface AmqpEvent {
  readonly headers: Record<string, string>;
  readonly content: Buffer;
}

/** Carried from the ingress request's live trace context, not from the event's own attributes. */
const TRACE = new Set(['traceparent', 'tracestate']);

/** Attributes that are not AMQP headers: the data, its content type (→ `content-type`), the trace. */
const NOT_HEADERS = new Set(['data', 'data_base64', 'datacontenttype', ...TRACE]);

/**
 * Encode an event for the broker exchange; `trace` is the live trace context of the ingress request.
 * The headers are the binary-mode attribute mapping of the cloudevents SDK (`HTTP.binary`, `ce-` dropped;
 * `time` as sent), written directly: the SDK's object per event was a third of this function's cost.
 * `dataBytes`, when given, is the data exactly as it arrived (a binary-mode JSON body, already parsed
 * and validated): passed on as is instead of serialising the parsed data again.
 */
export function toAmqp(
  event: CloudEventV1<unknown>,
  trace: { traceparent?: string; tracestate?: string } = {},
  dataBytes?: Buffer,
): AmqpEvent {
  const headers: Record<string, string> = {
    'content-type': event.datacontenttype ?? 'application/json',
  };
  for (const name in event) {
    const value = (event as unknown as Record<string, unknown>)[name];
    if (value !== undefined && !NOT_HEADERS.has(name)) headers[name] = String(value);
  }
  const traceparent =
    trace.traceparent ?? (typeof event.traceparent === 'string' ? event.traceparent : undefined);
  const tracestate =
    trace.tracestate ?? (typeof event.tracestate === 'string' ? event.tracestate : undefined);
  if (traceparent) headers.traceparent = traceparent;
  if (tracestate) headers.tracestate = tracestate;
  return { headers, content: dataBytes ?? contentOf(event.data) };
}

/** The message body: JSON for parsed data, bytes and text as they are, empty without data. */
function contentOf(data: unknown): Buffer {
  if (data === undefined || data === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data);
  return Buffer.from(typeof data === 'string' ? data : JSON.stringify(data));
}

/** AMQP headers (values of any AMQP type) → string header map, dropping RabbitMQ's own `x-` headers. */
export function headersOf(raw: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw ?? {})) {
    if (name.startsWith('x-') || value === undefined || value === null) continue;
    out[name] = Buffer.isBuffer(value) ? value.toString('utf8') : String(value);
  }
  return out;
}

/**
 * The binary-mode HTTP request a dispatcher sends for an AMQP message: `ce-<name>` for every attribute,
 * Content-Type, and the event's trace context as the `ce-traceparent` extension. The caller adds the
 * HTTP `traceparent` of its own span.
 */
export function toHttpHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (name === 'content-type') out['content-type'] = value;
    else if (name === 'tracestate') out.tracestate = value;
    else out[`ce-${name}`] = value;
  }
  return out;
}

/** Whether an HTTP response (node's lowercased headers) carries a reply CloudEvent (binary or structured mode). */
export function isReplyEvent(headers: IncomingHttpHeaders): boolean {
  return (
    headers['ce-specversion'] !== undefined ||
    (headers['content-type'] ?? '').toLowerCase().startsWith('application/cloudevents+json')
  );
}
