import type { Postgres } from '../lib/data/postgres.ts';
import type { DeadLetter } from './letter.ts';

/** A recorded dead letter, as operators list it. */
export interface DeadLetterRow {
  readonly id: string;
  readonly eventId: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string | null;
  readonly errorDest: string;
  readonly errorCode: number | null;
  readonly errorData: string | null;
  readonly receivedAt: Date;
  readonly requeuedAt: Date | null;
  readonly event: Record<string, unknown>;
}

/**
 * Record a dead letter once: a redelivery of the same (source, id, failed destination) is a no-op.
 * Returns whether this call recorded it.
 */
export async function recordDeadLetter(db: Postgres, letter: DeadLetter): Promise<boolean> {
  const result = await db.query(
    `insert into dead_letters
       (event_id, event_source, event_type, subject, error_dest, error_code, error_data, event)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (event_source, event_id, error_dest) do nothing`,
    [
      letter.eventId,
      letter.source,
      letter.type,
      letter.subject ?? null,
      letter.errorDest,
      letter.errorCode ?? null,
      letter.errorData ?? null,
      JSON.stringify(letter.event),
    ],
  );
  return result.rowCount === 1;
}

const COLUMNS = `id::text as id, event_id as "eventId", event_source as source, event_type as type, subject,
  error_dest as "errorDest", error_code as "errorCode", error_data as "errorData",
  received_at as "receivedAt", requeued_at as "requeuedAt", event`;

/** The most recent dead letters, newest first. */
export async function listDeadLetters(db: Postgres, limit = 50): Promise<DeadLetterRow[]> {
  const { rows } = await db.query<DeadLetterRow>(
    `select ${COLUMNS} from dead_letters order by received_at desc, id desc limit $1`,
    [limit],
  );
  return rows;
}

/** One dead letter by its row id, or undefined. */
export async function findDeadLetter(db: Postgres, id: string): Promise<DeadLetterRow | undefined> {
  const { rows } = await db.query<DeadLetterRow>(`select ${COLUMNS} from dead_letters where id = $1`, [id]);
  return rows[0];
}

/** Mark a dead letter as sent back to the broker. */
export async function markRequeued(db: Postgres, id: string): Promise<void> {
  await db.query('update dead_letters set requeued_at = now() where id = $1', [id]);
}
