/**
 * CloudEvent ↔ AMQP message, as the eventing-rabbitmq ingress and dispatcher do it (pure): attributes
 * and extensions become AMQP headers named without the `ce-` prefix (so Trigger filters match header
 * names directly), `datacontenttype` becomes `content-type`, the data is the body, and the W3C trace
 * context rides in `traceparent` / `tracestate`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CloudEventV1 } from 'cloudevents';
import { toBinary } from '../../../functions/lib/events/encode.ts';

export interface AmqpEvent {
  readonly headers: Record<string, string>;
  readonly content: Buffer;
}

/** Carried from the ingress request's live trace context, not from the event's own attributes. */
const TRACE = new Set(['traceparent', 'tracestate']);

/** Encode an event for the broker exchange; `trace` is the live trace context of the ingress request. */
export function toAmqp(
  event: CloudEventV1<unknown>,
  trace: { traceparent?: string; tracestate?: string } = {},
): AmqpEvent {
  // The binary-mode HTTP headers (the cloudevents SDK's one attribute → header mapping), `ce-` dropped.
  const binary = toBinary(event);
  const headers: Record<string, string> = {
    'content-type': binary.headers['content-type'] ?? 'application/json',
  };
  for (const [name, value] of Object.entries(binary.headers)) {
    if (name.startsWith('ce-') && !TRACE.has(name.slice(3))) headers[name.slice(3)] = value;
  }
  const traceparent =
    trace.traceparent ?? (typeof event.traceparent === 'string' ? event.traceparent : undefined);
  const tracestate =
    trace.tracestate ?? (typeof event.tracestate === 'string' ? event.tracestate : undefined);
  if (traceparent) headers.traceparent = traceparent;
  if (tracestate) headers.tracestate = tracestate;
  const content =
    event.data === undefined || event.data === null ? Buffer.alloc(0) : Buffer.from(binary.body);
  return { headers, content };
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
