import type { Postgres } from '../lib/data/postgres.ts';
import { NotFound } from '../lib/errors.ts';
import type { EventTransport } from '../lib/events/transport.ts';
import { originalEvent } from './letter.ts';
import { findDeadLetter, markRequeued } from './store.ts';

export interface RequeueDeps {
  readonly db: Postgres;
  /** The broker ingress transport (K_SINK). */
  readonly send: EventTransport;
}

/**
 * Send a dead letter back to the broker as it was first published (same id, so idempotent consumers
 * apply it at most once; error extensions removed) and mark it requeued. Throws NotFound for an unknown
 * row; a broker failure propagates (nothing is marked).
 * @example await requeueDeadLetter({ db, send }, '42');
 */
export async function requeueDeadLetter(deps: RequeueDeps, id: string): Promise<string> {
  const row = await findDeadLetter(deps.db, id);
  if (!row) throw new NotFound(`no dead letter ${id}`);
  const event = originalEvent(row.event);
  await deps.send(event);
  await markRequeued(deps.db, id);
  return event.id;
}
