import pg from 'pg';
import { ValidationFailed } from '../errors.ts';
import type { Runtime } from '../runtime.ts';

/** SQLSTATE classes that are answers about the data, not faults of the server (22 data, 23 integrity). */
const ANSWER_CLASSES = new Set(['22', '23', '42', 'P0']);

/** Connection-level failures node-postgres reports without a SQLSTATE. */
const CONNECTION_FAILURE =
  /connection terminated|timeout exceeded when trying to connect|connection timeout|Client has encountered a connection error|Query read timeout/i;

/**
 * Whether an error is a fault of the database (server errors, connection failures, timeouts) rather
 * than an answer (a constraint violation) or the caller's own error (its validation, a bug): only faults
 * are retried, count toward the circuit breaker and become 503.
 */
export function isPostgresFault(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (error instanceof pg.DatabaseError && typeof code === 'string' && code.length === 5) {
    return !ANSWER_CLASSES.has(code.slice(0, 2));
  }
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return true; // ECONNREFUSED, ECONNRESET, EPIPE…
  return error instanceof Error && CONNECTION_FAILURE.test(error.message);
}

/** Options of `Postgres.query`. */
export interface QueryOptions {
  /**
   * Settings for this statement only (name → value, e.g. `{ 'pg_trgm.word_similarity_threshold': '0.3' }`):
   * the statement then runs in a read-only transaction of its own that sets them with
   * `set_config(name, value, true)` first — 3 round trips instead of 1 (`begin` + the settings in one simple
   * query, the statement, `commit`). Names and values come from code, never from a request.
   */
  readonly settings?: Readonly<Record<string, string>>;
}

export interface Postgres {
  readonly pool: pg.Pool;
  /**
   * A single statement; retried once on a connection fault (use for reads and idempotent writes). With
   * `options.settings`: a read, run under those transaction-local settings (`QueryOptions`).
   */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
    options?: QueryOptions,
  ): Promise<pg.QueryResult<R>>;
  /**
   * A single statement in its own transaction (autocommit: one round trip); not retried. The pool's
   * statement timeout (5 s by default) ends it before the write guard's 10 s, so a 503 is never committed later.
   */
  write<R extends pg.QueryResultRow = pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>>;
  /**
   * Run `work` in one transaction (all-or-nothing); not retried. It is given 10 s; past that the caller
   * gets 503 and the transaction is rolled back (never committed later).
   */
  transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
  /** The same for bulk writes (a MAL import of thousands of rows): 120 s. */
  bulkTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T>;
}

interface PostgresOptions {
  readonly url: string;
  readonly max?: number;
  /** Statement timeout in ms, set on every connection. */
  readonly statementTimeoutMs?: number;
}

/**
 * A guarded PostgreSQL pool: a dead database fails fast with 503 (circuit breaker) instead of hanging;
 * constraint violations come back as pg errors for the caller to map.
 */
export function createPostgres(runtime: Runtime, options: PostgresOptions): Postgres {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    connectionTimeoutMillis: 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 5_000,
    application_name: runtime.name,
  });
  pool.on('error', (error) =>
    runtime.log.warn({ err: error, code: 'dependency_unavailable' }, 'idle postgres client failed'),
  );
  const reads = runtime.guard('postgres', { attempts: 2, timeoutMs: 6_000, isFault: isPostgresFault });
  const writes = runtime.guard('postgres-tx', { attempts: 1, timeoutMs: 10_000, isFault: isPostgresFault });
  const bulkWrites = runtime.guard('postgres-bulk-tx', {
    attempts: 1,
    timeoutMs: 120_000,
    isFault: isPostgresFault,
  });
  runtime.addCheck('postgres', () => pool.query('select 1'));
  runtime.onShutdown(() => pool.end());
  return {
    pool,
    query: (text, values, options) =>
      reads
        .run(() =>
          options?.settings === undefined
            ? pool.query(text, values)
            : queryWithSettings(pool, options.settings, text, values),
        )
        .catch(rethrowDataException),
    write: (text, values) => writes.run(() => pool.query(text, values)).catch(rethrowDataException),
    transaction: (work) =>
      writes.run((signal) => inTransaction(pool, work, signal)).catch(rethrowDataException),
    bulkTransaction: (work) =>
      bulkWrites.run((signal) => inTransaction(pool, work, signal)).catch(rethrowDataException),
  };
}

/**
 * Run `work` on one pooled connection inside BEGIN/COMMIT, rolling back on any error (all-or-nothing).
 * When `signal` is aborted (the caller's timeout fired and the caller was already answered) the work is
 * rolled back instead of committed. Unguarded: functions use `Postgres.transaction`; scripts and
 * benchmarks use this directly.
 */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await work(client);
    signal?.throwIfAborted();
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * One read statement in a read-only transaction whose first step sets `settings` for that transaction only
 * (`set_config(…, true)`): the pooled connection goes back with its own settings whatever happens.
 */
async function queryWithSettings<R extends pg.QueryResultRow>(
  pool: pg.Pool,
  settings: Readonly<Record<string, string>>,
  text: string,
  values: unknown[] | undefined,
): Promise<pg.QueryResult<R>> {
  const set = Object.entries(settings)
    .map(([name, value]) => `set_config(${pg.escapeLiteral(name)}, ${pg.escapeLiteral(value)}, true)`)
    .join(', ');
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    // One simple-protocol query (no parameters: the literals are escaped), so begin + settings is one round trip.
    await client.query(set === '' ? 'begin read only' : `begin read only; select ${set}`);
    const result = await client.query<R>(text, values);
    await client.query('commit');
    return result;
  } catch (error) {
    // A connection that failed is not given back to the pool; one that answered an error is rolled back.
    if (isPostgresFault(error)) broken = error as Error;
    else
      await client.query('rollback').catch((e: unknown) => {
        broken = e as Error;
      });
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * SQLSTATE class 22 (data exception: a NUL byte in text, a number out of range, an invalid date) means
 * the input was not acceptable: a 400, not a server error.
 */
function rethrowDataException(error: unknown): never {
  if (error instanceof pg.DatabaseError && error.code?.startsWith('22')) {
    throw new ValidationFailed(`a value was not accepted: ${error.message}`, { cause: error });
  }
  throw error;
}
