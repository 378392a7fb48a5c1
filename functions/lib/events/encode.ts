import { type Binding, CloudEvent, type CloudEventV1, HTTP } from 'cloudevents';

/** An HTTP message: what a transport sends. Pure data; encoding never does I/O. */
export interface HttpMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
}

/** The SDK's event object for a plain (stored, decoded) one; extension names were checked by the catalogue. */
export function sdkEvent(event: CloudEventV1<unknown>): CloudEvent<unknown> {
  return event instanceof CloudEvent ? event : new CloudEvent(event, false);
}

function message(headers: Record<string, unknown>, body: unknown): HttpMessage {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (value !== undefined) out[name] = String(value);
  const bytes = body === undefined || body === null ? '' : body;
  return {
    headers: out,
    body: typeof bytes === 'string' || Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes as Uint8Array),
  };
}

/**
 * Binary mode (the default, what Knative brokers pass through untouched), by the cloudevents SDK
 * (`HTTP.binary`, CloudEvents HTTP protocol binding §3.1): every attribute and extension as a `ce-<name>`
 * header, `datacontenttype` as Content-Type, `data` as the body. `ce-time` is the event's own `time`
 * string (the SDK re-renders it through `Date`, which would cut sub-millisecond digits).
 * @example const { headers, body } = toBinary(event); await fetch(sink, { method: 'POST', headers, body });
 */
export function toBinary(event: CloudEventV1<unknown>): HttpMessage {
  const { headers, body } = HTTP.binary(sdkEvent(event));
  return message(
    {
      ...headers,
      'content-type': event.datacontenttype ?? 'application/json',
      ...(typeof event.time === 'string' ? { 'ce-time': event.time } : {}),
    },
    body,
  );
}

/** Structured mode (`HTTP.structured`, §3.2): the whole event as `application/cloudevents+json`. */
export function toStructured(event: CloudEventV1<unknown>): HttpMessage {
  const { headers, body } = HTTP.structured(sdkEvent(event));
  return message(headers, body);
}

/** The SDK's HTTP binding with binary mode keeping the event's own `time` (what `emitterFor` encodes with). */
export const HTTP_BINDING: Binding = {
  ...HTTP,
  binary: (event) => toBinary(event as CloudEventV1<unknown>),
  structured: (event) => toStructured(event as CloudEventV1<unknown>),
};
