import type { CloudEventV1 } from 'cloudevents';
import { ValidationFailed } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { injectTraceHeaders } from '../tracing/trace-headers.ts';
import { type HttpMessage, toBinary, toStructured } from './encode.ts';

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

/** Whether an answer from the sink means "try again later" (same set Knative retries on). */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 404 || status === 408 || status === 409 || status === 429;
}

/**
 * HTTP POST to the sink, guarded by the `broker` guard (timeout, circuit breaker): an unreachable or
 * failing broker → DependencyUnavailable (transient: the outbox keeps the event for the relay); the sink
 * refusing the event (400) → ValidationFailed (permanent). Carries the current trace as `traceparent`/B3.
 * @example const send = createHttpTransport({ runtime, sink: settings.K_SINK }); await send(event);
 */
export function createHttpTransport(options: HttpTransportOptions): EventTransport {
  const { runtime, sink } = options;
  const encode: (e: CloudEventV1<unknown>) => HttpMessage =
    options.mode === 'structured' ? toStructured : toBinary;
  const guard = runtime.guard('broker', {
    attempts: 1,
    timeoutMs: options.timeoutMs ?? 5_000,
  });
  const { tracer } = runtime.tracing;
  return (event) =>
    guard.run(async (signal) => {
      const message = encode(event);
      const trace = injectTraceHeaders(tracer.createChildId());
      const res = await fetch(sink, {
        method: 'POST',
        headers: { ...trace, ...message.headers },
        body: message.body,
        signal,
      });
      const text = await res.text();
      if (res.ok) return;
      if (!isRetryableStatus(res.status) && res.status < 500) {
        throw new ValidationFailed(
          `the broker refused event ${event.id} (${res.status}): ${text.slice(0, 300)}`,
        );
      }
      // A plain Error: the guard counts it toward the breaker and turns it into DependencyUnavailable.
      throw new Error(`broker answered ${res.status}: ${text.slice(0, 300)}`);
    });
}
