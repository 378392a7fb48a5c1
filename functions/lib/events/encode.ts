import { type Binding, CloudEvent, type CloudEventV1, HTTP } from 'cloudevents';

/** An HTTP message: what a transport sends. Pure data; encoding never does I/O. */
export interface HttpMessage {
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string | Buffer;
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
  // HTTP.binary reads the attributes as they are: nothing is added (no arrival time, no id).
  const { headers, body } = HTTP.binary(event as CloudEvent<unknown>);
  return message(
    {
      ...headers,
      'content-type': event.datacontenttype ?? 'application/json',
      ...(typeof event.time === 'string' ? { 'ce-time': event.time } : {}),
    },
    body,
  );
}

/**
 * Structured mode (`HTTP.structured`, §3.2): the whole event as `application/cloudevents+json`. The SDK
 * serialises its own CloudEvent object, which fills in a missing `time`; Isekai's events always carry one.
 */
export function toStructured(event: CloudEventV1<unknown>): HttpMessage {
  const sdk = event instanceof CloudEvent ? event : new CloudEvent(event, false);
  const { headers, body } = HTTP.structured(sdk);
  return message(headers, body);
}

/**
 * The SDK's HTTP binding with the two encoders above (what `emitterFor` encodes with). They take plain
 * events (stored, decoded) as well as the SDK's objects.
 */
export const HTTP_BINDING: Binding = {
  ...HTTP,
  binary: (event) => toBinary(event as CloudEventV1<unknown>),
  structured: (event) => toStructured(event as CloudEventV1<unknown>),
};
