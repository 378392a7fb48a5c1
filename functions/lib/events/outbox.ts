import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import type { Postgres } from '../data/postgres.ts';
import { asIsekaiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { EventTransport } from './transport.ts';

/**
 * Write an event (built with `newEvent`) to the transactional outbox inside the caller's transaction
 * (all-or-nothing with the change it describes). Returns the event, to hand to `publishCommitted` once the
 * transaction has committed.
 * @example const ce = await db.transaction(async (tx) => { …; return enqueue(tx, newEvent(type, data)); });
 */
export async function enqueue<T>(client: pg.ClientBase, ce: CloudEventV1<T>): Promise<CloudEventV1<T>> {
  await client.query('insert into outbox (id, type, source, subject, event) values ($1, $2, $3, $4, $5)', [
    ce.id,
    ce.type,
    ce.source,
    ce.subject ?? null,
    JSON.stringify(ce),
  ]);
  return ce;
}

export interface OutboxDeps {
  readonly db: Postgres;
  readonly send: EventTransport;
  readonly log: Logger;
}

export interface RelayOptions {
  /** Stop after this many rows (a PingSource tick's budget). */
  readonly maxRows?: number;
  /** Rows locked and sent per transaction. */
  readonly batchSize?: number;
  /** Leave rows younger than this to their producer's own publish (fewer duplicates). */
  readonly minAgeMs?: number;
}

export interface RelayResult {
  readonly published: number;
  readonly failed: number;
}

/** Record the outcome of sends: published rows get `published_at`, failed ones an attempt and the error. */
async function record(
  q: { query(text: string, values: unknown[]): Promise<unknown> },
  ok: string[],
  failed: { id: string; error: string }[],
): Promise<void> {
  if (ok.length > 0) {
    await q.query(
      'update outbox set published_at = now(), attempts = attempts + 1 where id = any($1::text[])',
      [ok],
    );
  }
  for (const f of failed) {
    await q.query('update outbox set attempts = attempts + 1, last_error = $2 where id = $1', [
      f.id,
      f.error,
    ]);
  }
}

/**
 * Events sent at once by one publish: a bulk write (a MAL import of 1,000 rows commits 1,250 events) must
 * not open a thousand requests to the broker ingress together — the sends past its per-request timeout
 * failed and were left to the relay (found by test/e2e/crash.test.ts, the import crash test).
 */
export const PUBLISH_CONCURRENCY = 16;

async function sendAll(
  send: EventTransport,
  events: readonly CloudEventV1<unknown>[],
): Promise<{ ok: string[]; failed: { id: string; error: string; transient: boolean }[] }> {
  const results: PromiseSettledResult<void>[] = new Array(events.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < events.length; i = next++) {
      results[i] = await send(events[i] as CloudEventV1<unknown>).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, events.length) }, lane));
  const ok: string[] = [];
  const failed: { id: string; error: string; transient: boolean }[] = [];
  results.forEach((r, i) => {
    const id = events[i]?.id ?? '';
    if (r.status === 'fulfilled') {
      ok.push(id);
      return;
    }
    const error = asIsekaiError(r.reason);
    failed.push({ id, error: `${error.code}: ${error.message}`.slice(0, 500), transient: error.transient });
  });
  return { ok, failed };
}

/**
 * Publish events whose transaction has committed, and mark them published. Never throws for a broker
 * failure: the rows stay unpublished and outbox-relay sends them later (logged with the error code).
 * @example const ce = await db.transaction((tx) => enqueue(tx, e)); await publishCommitted(deps, [ce]);
 */
export async function publishCommitted(
  deps: OutboxDeps,
  events: readonly CloudEventV1<unknown>[],
): Promise<RelayResult> {
  if (events.length === 0) return { published: 0, failed: 0 };
  const { ok, failed } = await sendAll(deps.send, events);
  for (const f of failed)
    deps.log.warn({ code: f.error.split(':')[0], 'ce.id': f.id, err: f.error }, 'event left to outbox-relay');
  await record(deps.db, ok, failed).catch((error: unknown) =>
    deps.log.warn(
      { code: asIsekaiError(error).code, err: error },
      'could not mark outbox rows; relay will resend',
    ),
  );
  return { published: ok.length, failed: failed.length };
}

/**
 * Publish unpublished outbox rows in batches (`select … for update skip locked`, so concurrent relays
 * never send the same row at once), oldest first. Stops when the outbox is drained, `maxRows` is reached
 * or a batch had failures (the broker is down: the next tick tries again).
 */
export async function relayOutbox(deps: OutboxDeps, options: RelayOptions = {}): Promise<RelayResult> {
  const maxRows = options.maxRows ?? 500;
  const batchSize = Math.min(options.batchSize ?? 100, maxRows);
  const minAgeSeconds = (options.minAgeMs ?? 2_000) / 1000;
  let published = 0;
  let failedTotal = 0;
  while (published + failedTotal < maxRows) {
    const limit = Math.min(batchSize, maxRows - published - failedTotal);
    const batch = await deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<{ event: CloudEventV1<unknown> }>(
        `select event from outbox
          where published_at is null and created_at <= now() - make_interval(secs => $2)
          order by created_at, id limit $1 for update skip locked`,
        [limit, minAgeSeconds],
      );
      const { ok, failed } = await sendAll(
        deps.send,
        rows.map((r) => r.event),
      );
      await record(tx, ok, failed);
      return { rows: rows.length, ok: ok.length, failed };
    });
    published += batch.ok;
    failedTotal += batch.failed.length;
    for (const f of batch.failed.filter((x) => !x.transient)) {
      deps.log.error(
        { code: 'validation_failed', 'ce.id': f.id, err: f.error },
        'the broker refused an outbox event',
      );
    }
    if (batch.failed.some((f) => f.transient)) {
      deps.log.warn(
        { code: 'dependency_unavailable', failed: batch.failed.length, err: batch.failed[0]?.error },
        'relay stopped: broker failing',
      );
      break;
    }
    if (batch.rows < limit) break;
  }
  return { published, failed: failedTotal };
}
