import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import type { Postgres } from '../data/postgres.ts';

/** What a write returns: whatever it answers with, plus the events it put in the outbox. */
export interface WriteResult {
  readonly events: readonly CloudEventV1<unknown>[];
}

export interface CommitDeps {
  readonly db: Postgres;
  /** Publish events whose transaction committed (never throws: the outbox relay sends what fails). */
  readonly publish: (events: readonly CloudEventV1<unknown>[]) => Promise<void>;
}

/**
 * The one way a PostgreSQL write with events ends: run `work` in a transaction (the change and its outbox
 * rows, all or nothing), then the after-commit steps (e.g. drop cached objects the change made stale, so a
 * read right after the answer sees it), then publish the committed events. Returns `work`'s result.
 * An error in `work` rolls everything back and nothing is published. `bulk`: the long-running write
 * transaction (`Postgres.bulkTransaction`, e.g. a MAL import of thousands of rows). `oneStatement`: `work`
 * issues exactly one statement (e.g. a server-side function such as `rating_submit`), which runs as its own
 * implicit transaction (`Postgres.write`): one round trip instead of BEGIN … COMMIT.
 * @example const { rating } = await commitAndPublish(deps, (tx) => submitRating(tx, …),
 *            () => cache.invalidate([animeId]));
 */
export async function commitAndPublish<R extends WriteResult>(
  deps: CommitDeps,
  work: (tx: pg.PoolClient) => Promise<R>,
  afterCommit?: (result: R) => Promise<unknown> | undefined,
  options: { readonly bulk?: boolean; readonly oneStatement?: boolean } = {},
): Promise<R> {
  const result = await (options.oneStatement
    ? work(oneStatementClient(deps.db))
    : options.bulk
      ? deps.db.bulkTransaction(work)
      : deps.db.transaction(work));
  if (afterCommit) await afterCommit(result);
  await deps.publish(result.events);
  return result;
}

/** A client for work that issues one statement: each `query` is `Postgres.write` (its own transaction). */
function oneStatementClient(db: Postgres): pg.PoolClient {
  return { query: (text: string, values?: unknown[]) => db.write(text, values) } as unknown as pg.PoolClient;
}
