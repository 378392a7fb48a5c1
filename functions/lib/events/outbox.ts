import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import type { Postgres } from '../data/postgres.ts';
import { asIsekaiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { OutboxClaim, OutboxSource, SendFailure } from './outbox-source.ts';
import { type RelayResult, sendSequences } from './relay.ts';

export { PUBLISH_CONCURRENCY } from './relay.ts';

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

/** Record the outcome of sends: published rows get `published_at`, failed ones an attempt and the error. */
async function record(
  q: { query(text: string, values: unknown[]): Promise<unknown> },
  ok: readonly string[],
  failed: readonly { id: string; error: string }[],
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
 * Publish events whose transaction has committed, `PUBLISH_CONCURRENCY` at a time, and mark them
 * published. Never throws for a broker failure: the rows stay unpublished and outbox-relay sends them
 * later (logged with the error code).
 * @example const ce = await db.transaction((tx) => enqueue(tx, e)); await publishCommitted(deps, [ce]);
 */
export async function publishCommitted(
  deps: OutboxDeps,
  events: readonly CloudEventV1<unknown>[],
): Promise<RelayResult> {
  if (events.length === 0) return { published: 0, failed: 0 };
  const { ok, failed } = await sendSequences(
    deps.send,
    events.map((e) => [e]),
  );
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
 * The PostgreSQL `outbox` table as an {@link OutboxSource}. A claim is a transaction holding its rows
 * with `select … for update skip locked` (concurrent relays never get the same row; a relay that dies
 * lets go with its connection), oldest first (`created_at, id`), each row its own sequence (sent side by
 * side). `markPublished` sets `published_at`, `release` records attempts and `last_error` and commits.
 * The claim lives in `Postgres.transaction` (10 s guard), as the sends it waits for did before.
 * `pending` counts the rows with no `published_at` and the oldest `created_at`.
 * @example await relayOutbox(postgresOutbox(db, { minAgeMs: 2_000 }), { send, log })
 */
export function postgresOutbox(db: Postgres, options: { readonly minAgeMs?: number } = {}): OutboxSource {
  const minAgeSeconds = (options.minAgeMs ?? 2_000) / 1000;
  return {
    name: 'postgresql',
    claim(limit) {
      const claimed = Promise.withResolvers<OutboxClaim>();
      const released = Promise.withResolvers<readonly SendFailure[]>();
      const committed = db.transaction(async (tx) => {
        const { rows } = await tx.query<{ event: CloudEventV1<unknown> }>(
          `select event from outbox
            where published_at is null and created_at <= now() - make_interval(secs => $2)
            order by created_at, id limit $1 for update skip locked`,
          [limit, minAgeSeconds],
        );
        claimed.resolve({
          sequences: rows.map((r) => [r.event]),
          markPublished: (ids) => record(tx, ids, []),
          release: (failures) => {
            released.resolve(failures);
            return committed;
          },
        });
        await record(tx, [], await released.promise);
      });
      // Before the claim: the select failed. After it, `release` hands the outcome to its caller.
      committed.catch(claimed.reject);
      return claimed.promise;
    },
    async pending() {
      // The partial index outbox_unpublished (created_at where published_at is null) answers both.
      const { rows } = await db.query<{ count: number; oldest: Date | null }>(
        'select count(*)::int as count, min(created_at) as oldest from outbox where published_at is null',
      );
      return { count: rows[0]?.count ?? 0, oldest: rows[0]?.oldest ?? null };
    },
  };
}
