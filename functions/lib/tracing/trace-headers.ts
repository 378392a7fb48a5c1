import zipkin from 'zipkin';
import { currentTraceContext } from './als-context.ts';

const { TraceId, option } = zipkin;
type TraceIdT = zipkin.TraceId;

const HEX16 = /^[0-9a-f]{16}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const TRACE_ID = /^([0-9a-f]{16}|[0-9a-f]{32})$/;

/** Header lookup that works for node's IncomingHttpHeaders and for CloudEvent attributes. */
export type HeaderGetter = (name: string) => string | undefined;

/**
 * Read an incoming trace context: W3C `traceparent` first (what the Knative RabbitMQ broker forwards),
 * then B3 single (`b3`), then B3 multi (`X-B3-*`). Returns undefined when none is valid.
 */
export function extractTraceId(get: HeaderGetter): TraceIdT | undefined {
  return fromTraceparent(get('traceparent')) ?? fromB3Single(get('b3')) ?? fromB3Multi(get);
}

function fromTraceparent(value: string | undefined): TraceIdT | undefined {
  if (!value) return undefined;
  const parts = value.trim().toLowerCase().split('-');
  const [version, traceId, spanId, flags] = parts;
  if (parts.length < 4 || version === 'ff' || !traceId || !spanId || !flags) return undefined;
  if (!HEX32.test(traceId) || !HEX16.test(spanId) || !/^[0-9a-f]{2}$/.test(flags)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  const sampled = (Number.parseInt(flags, 16) & 1) === 1;
  return new TraceId({ traceId, spanId, parentId: option.None, sampled: new option.Some(sampled) });
}

function fromB3Single(value: string | undefined): TraceIdT | undefined {
  if (!value) return undefined;
  const [traceId, spanId, sampling, parent] = value.trim().toLowerCase().split('-');
  if (!traceId || !spanId || !TRACE_ID.test(traceId) || !HEX16.test(spanId)) return undefined;
  const debug = sampling === 'd';
  const sampled = sampling === undefined ? option.None : new option.Some(sampling === '1' || debug);
  const parentId = parent && HEX16.test(parent) ? new option.Some(parent) : option.None;
  return new TraceId({ traceId, spanId, parentId, sampled, debug });
}

function fromB3Multi(get: HeaderGetter): TraceIdT | undefined {
  const traceId = get('x-b3-traceid')?.toLowerCase();
  const spanId = get('x-b3-spanid')?.toLowerCase();
  if (!traceId || !spanId || !TRACE_ID.test(traceId) || !HEX16.test(spanId)) return undefined;
  const parent = get('x-b3-parentspanid')?.toLowerCase();
  const flag = get('x-b3-sampled');
  const debug = get('x-b3-flags') === '1';
  const sampled =
    flag === undefined ? option.None : new option.Some(flag === '1' || flag === 'true' || debug);
  const parentId = parent && HEX16.test(parent) ? new option.Some(parent) : option.None;
  return new TraceId({ traceId, spanId, parentId, sampled, debug });
}

/** The W3C trace id is 32 hex characters; 64-bit B3 ids are left-padded. */
export function traceparentOf(id: TraceIdT): string {
  const sampled = id.sampled.getOrElse(false) ? '01' : '00';
  return `00-${id.traceId.padStart(32, '0')}-${id.spanId}-${sampled}`;
}

/**
 * The W3C `traceparent` of the current request or event (from the AsyncLocalStorage context every
 * function's HTTP and CloudEvent entry sets), or undefined outside one.
 */
export function currentTraceparent(): string | undefined {
  const id = currentTraceContext<TraceIdT>();
  return id && !/^0+$/.test(id.traceId) ? traceparentOf(id) : undefined;
}

/** Headers that carry `id` to the next hop, in both W3C and B3 form. */
export function injectTraceHeaders(id: TraceIdT): Record<string, string> {
  const headers: Record<string, string> = {
    traceparent: traceparentOf(id),
    'x-b3-traceid': id.traceId,
    'x-b3-spanid': id.spanId,
  };
  id.parentSpanId.ifPresent((p: string) => {
    headers['x-b3-parentspanid'] = p;
  });
  id.sampled.ifPresent((s: boolean) => {
    headers['x-b3-sampled'] = s ? '1' : '0';
  });
  return headers;
}
