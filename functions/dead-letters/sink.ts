import type { CloudEventV1 } from 'cloudevents';
import type { Postgres } from '../lib/data/postgres.ts';
import type { Runtime } from '../lib/runtime.ts';
import { toDeadLetter } from './letter.ts';
import { recordDeadLetter } from './store.ts';

export interface DeadLetterSinkDeps {
  readonly runtime: Runtime;
  readonly db: Postgres;
}

export type SinkOutcome = 'recorded' | 'duplicate';

/**
 * The dead-letter sink's logic: decode the event (400 when it is not even a CloudEvent envelope), record
 * it once in `dead_letters` with the broker's error extensions, and log it with code `delivery_failed`.
 * A database outage throws DependencyUnavailable (503): the broker's dead-letter dispatcher retries.
 */
export function createDeadLetterSink(
  deps: DeadLetterSinkDeps,
): (event: CloudEventV1<unknown>) => Promise<SinkOutcome> {
  const { runtime, db } = deps;
  return async (event) => {
    const letter = toDeadLetter(event);
    const recorded = await recordDeadLetter(db, letter);
    const fields = {
      'ce.id': letter.eventId,
      'ce.type': letter.type,
      'ce.source': letter.source,
      dest: letter.errorDest,
      status: letter.errorCode,
    };
    if (recorded) {
      runtime.log.error(
        { ...fields, code: 'delivery_failed', errorData: letter.errorData?.slice(0, 300) },
        'event dead-lettered',
      );
    } else runtime.log.info(fields, 'dead letter already recorded');
    runtime.metrics.eventsHandled.inc({
      type: letter.type,
      outcome: recorded ? 'dead-lettered' : 'duplicate',
    });
    return recorded ? 'recorded' : 'duplicate';
  };
}
