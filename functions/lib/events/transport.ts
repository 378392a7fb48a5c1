import { type CloudEvent, type CloudEventV1, emitterFor, type Message, Mode } from 'cloudevents';
import { ValidationFailed } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { injectTraceHeaders } from '../tracing/trace-headers.ts';
import { HTTP_BINDING } from './encode.ts';
import { isRetryableStatus } from './retry.ts';

/** Sends one CloudEvent; resolves when the sink accepted it (2xx). */
export type EventTransport = (event: CloudEventV1<unknown>) => Promise<void>;

export interface HttpTransportOptions {
  readonly runtime: Runtime;
  /** Where events go: the broker ingress named by `K_SINK` (a SinkBinding sets it). */
  readonly sink: string;
  readonly mode?: 'binary' | 'structured';
  /** Per-request timeout (default 5 s). */
  readonly timeoutMs?: number;
}

/**
 * HTTP POST to the sink through the cloudevents SDK's emitter (`emitterFor(…, { binding: HTTP_BINDING, mode })`),
 * guarded by the `broker` guard (timeout, circuit breaker): an unreachable or failing broker →
 * DependencyUnavailable (transient: the outbox keeps the event for the relay); the sink refusing the event
 * (a permanent status, see `isRetryableStatus`) → ValidationFailed. Carries the current trace as
 * `traceparent`/B3. Binary mode keeps the event's own `time` string (see `toBinary`).
 * @example const send = createHttpTransport({ runtime, sink: settings.K_SINK }); await send(event);
 */
export function createHttpTransport(options: HttpTransportOptions): EventTransport {
  const { runtime, sink } = options;
  const guard = runtime.guard('broker', {
    attempts: 1,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const { tracer } = runtime.tracing;
  const post = (message: Message, event: CloudEventV1<unknown>) =>
    guard.run(async (signal) => {
      const headers: Record<string, string> = { ...injectTraceHeaders(tracer.createChildId()) };
      for (const [name, value] of Object.entries(message.headers))
        if (value !== undefined) headers[name] = String(value);
      const res = await fetch(sink, { method: 'POST', headers, body: message.body as string, signal });
      const text = await res.text();
      if (res.ok) return;
      if (!isRetryableStatus(res.status)) {
        throw new ValidationFailed(
          `the broker refused event ${event.id} (${res.status}): ${text.slice(0, 300)}`,
        );
      }
      // A plain Error: the guard counts it toward the breaker and turns it into DependencyUnavailable.
      throw new Error(`broker answered ${res.status}: ${text.slice(0, 300)}`);
    });
  const mode = options.mode === 'structured' ? Mode.STRUCTURED : Mode.BINARY;
  const emit = emitterFor(
    (message, opts) => post(message, (opts as { event: CloudEventV1<unknown> }).event),
    {
      binding: HTTP_BINDING,
      mode,
    },
  );
  return async (event) => {
    // HTTP_BINDING encodes plain events as they are; the SDK's type asks for its own object.
    await emit(event as CloudEvent<unknown>, { event });
  };
}
