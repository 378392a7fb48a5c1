import type { CloudEventV1 } from 'cloudevents';

/** One claimed event the relay could not send: its id, `<code>: <message>` (≤ 500 chars), and whether to retry soon. */
export interface SendFailure {
  readonly id: string;
  readonly error: string;
  /** The broker was unreachable or failing (retry on the next tick); false: the broker refused the event. */
  readonly transient: boolean;
}

/**
 * Events a relay holds until it releases them. `release` must be called exactly once, also after an
 * error (`relayOutbox` calls it in a `finally`).
 */
export interface OutboxClaim {
  /**
   * The claimed events, oldest first, in sequences: the events of one sequence go out one after another
   * (a later one only once the earlier was accepted: one document's events stay in write order);
   * sequences are independent and sent side by side.
   */
  readonly sequences: readonly (readonly CloudEventV1<unknown>[])[];
  /** Mark these events published: no claim hands them out again. */
  markPublished(ids: readonly string[]): Promise<void>;
  /**
   * End the claim: record the failures (where the source keeps attempts), and let every claimed event
   * not marked published be claimed again.
   */
  release(failures: readonly SendFailure[]): Promise<void>;
}

/** What waits in an outbox source: the relay's backlog (`OutboxSource.pending`). */
export interface OutboxBacklog {
  /** Events not yet published, due or not (≥ 0). */
  readonly count: number;
  /** When the oldest of them was written (the row's `created_at`, the event's `time`); null when none waits. */
  readonly oldest: Date | null;
}

/**
 * Where committed events wait until the broker has them: the PostgreSQL `outbox` table
 * (`postgresOutbox`, events/outbox.ts) or the `pendingEvents` embedded in MongoDB documents
 * (`embeddedOutbox`, events/embedded-outbox.ts). `relayOutbox` (events/relay.ts) publishes from either.
 */
export interface OutboxSource {
  /** `postgresql` or `mongodb:<collections>`: named in the relay's logs. */
  readonly name: string;
  /**
   * Claim up to `limit` due events (older than the source's minimum age, so a producer's own publish
   * right after its write goes first), oldest first. Claimed events are not handed to another claim until
   * released (or, when the claimer died, until the source's lock or lease ends). An empty claim: nothing
   * is due. A claim may exceed `limit` by the rest of one sequence.
   */
  claim(limit: number): Promise<OutboxClaim>;
  /**
   * The backlog: how many events are not yet published (claimed or not, younger than the minimum age
   * included) and when the oldest was written. One cheap read, no claim; outbox-relay exports it after each
   * tick (`outbox_pending_events`, `outbox_oldest_pending_seconds`). Throws when the store is down.
   */
  pending(): Promise<OutboxBacklog>;
}
