import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import zipkin from 'zipkin';
import type { Postgres } from '../data/postgres.ts';
import { asIsekaiError, ValidationFailed } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { extractTraceId } from '../tracing/trace-headers.ts';
import { type CheckedEvent, validateEvent } from './validate-event.ts';

const { Annotation } = zipkin;

export interface ConsumerOptions<T> {
  readonly runtime: Runtime;
  readonly db: Postgres;
  /** The consuming function's name: the dedupe key in `processed_events` is (consumer, event id). */
  readonly consumer: string;
  /** The types this consumer handles; any other (valid) type is refused as a permanent error. */
  readonly types: readonly string[];
  /** Apply the event's effect inside `tx`; the dedupe record is written in the same transaction. */
  handle(tx: pg.PoolClient, event: CheckedEvent<T>): Promise<void>;
}

export type ConsumerOutcome = 'ok' | 'duplicate' | 'rejected' | 'failed';

/**
 * Wrap a CloudEvent function's logic as an idempotent consumer: validate the event against the catalogue →
 * in ONE transaction record the event id in `processed_events` (a duplicate is a no-op success) and apply
 * the effect → commit → return (the broker acks on 2xx). Permanent errors (invalid event, unexpected type,
 * non-transient IsekaiErrors) are logged with their code and rethrown (4xx on the lean host: not retried,
 * the broker dead-letters); transient ones are rethrown too (5xx: the broker retries with backoff).
 * @example cloudEvent('notify', createConsumer({ runtime, db, consumer: 'notify', types, handle }));
 */
export function createConsumer<T>(
  options: ConsumerOptions<T>,
): (event: CloudEventV1<unknown>) => Promise<ConsumerOutcome> {
  const { runtime, db, consumer } = options;
  const types = new Set(options.types);
  const { tracer } = runtime.tracing;
  return async (incoming) => {
    const parent = extractTraceId((name) =>
      name === 'traceparent' ? stringOrUndefined(incoming.traceparent) : undefined,
    );
    const traceId = parent ? tracer.createChildId(parent) : tracer.createRootId();
    return tracer.letId(traceId, async () => {
      tracer.recordServiceName(runtime.name);
      tracer.recordRpc(`consume ${String(incoming.type)}`);
      tracer.recordAnnotation(new Annotation.ServerRecv());
      const log = runtime.log.child({ 'ce.id': incoming.id, 'ce.type': incoming.type });
      let outcome: ConsumerOutcome = 'failed';
      try {
        const event = validateEvent<T>(incoming);
        if (!types.has(event.type)) {
          throw new ValidationFailed(`${consumer} does not consume ${event.type}`, {
            issues: [{ field: '/type', message: `expected one of ${[...types].join(', ')}` }],
          });
        }
        outcome = await db.transaction(async (tx) => {
          const first = await tx.query(
            `insert into processed_events (consumer, event_id, event_type) values ($1, $2, $3)
             on conflict do nothing`,
            [consumer, event.id, event.type],
          );
          if (first.rowCount === 0) return 'duplicate';
          await options.handle(tx, event);
          return 'ok';
        });
        log.debug({ outcome }, 'event handled');
        return outcome;
      } catch (error) {
        const failure = asIsekaiError(error);
        outcome = failure.transient ? 'failed' : 'rejected';
        const fields = {
          code: failure.code,
          outcome,
          issues: failure.issues.length > 0 ? failure.issues : undefined,
        };
        if (failure.transient)
          log.warn({ ...fields, err: error }, `event failed, will be retried: ${failure.message}`);
        else log.error(fields, `event refused: ${failure.message}`);
        throw failure;
      } finally {
        runtime.metrics.eventsHandled.inc({ type: String(incoming.type), outcome });
        tracer.recordBinary('ce.outcome', outcome);
        tracer.recordAnnotation(new Annotation.ServerSend());
      }
    });
  };
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
