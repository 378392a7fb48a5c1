import type { CloudEventV1 } from 'cloudevents';
import { asIsekaiError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { OutboxSource, SendFailure } from './outbox-source.ts';
import type { EventTransport } from './transport.ts';

export interface RelayDeps {
  readonly send: EventTransport;
  readonly log: Logger;
}

export interface RelayOptions {
  /** Stop after this many events (a PingSource tick's budget; default 500). */
  readonly maxRows?: number;
  /** Events claimed and sent per claim (default 100). */
  readonly batchSize?: number;
}

export interface RelayResult {
  readonly published: number;
  /** Claimed events not published: refused, broker failing, or after a failed one in their sequence. */
  readonly failed: number;
}

/** What sending some sequences did: the ids the broker accepted, and the failures. */
export interface SendOutcome {
  readonly ok: string[];
  readonly failed: SendFailure[];
}

/**
 * Sequences sent at once: a bulk write (a MAL import of 1,000 rows commits 1,250 events) must not open a
 * thousand requests to the broker ingress together — the sends past its per-request timeout failed and
 * were left to the relay (found by test/e2e/crash-import.test.ts).
 */
export const PUBLISH_CONCURRENCY = 16;

/**
 * Send sequences of events, `PUBLISH_CONCURRENCY` sequences at a time, each sequence in order and
 * stopped at its first failure (its later events stay unsent: neither ok nor failed). Never throws.
 * @example await sendSequences(send, events.map((e) => [e])) // independent events, 16 at a time
 */
export async function sendSequences(
  send: EventTransport,
  sequences: readonly (readonly CloudEventV1<unknown>[])[],
): Promise<SendOutcome> {
  const ok: string[] = [];
  const failed: SendFailure[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < sequences.length; i = next++) {
      for (const event of sequences[i] ?? []) {
        try {
          await send(event);
        } catch (reason) {
          const error = asIsekaiError(reason);
          const text = `${error.code}: ${error.message}`.slice(0, 500);
          failed.push({ id: event.id, error: text, transient: error.transient });
          break;
        }
        ok.push(event.id);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PUBLISH_CONCURRENCY, sequences.length) }, lane));
  return { ok, failed };
}

/**
 * The one outbox relay: publish due events of `source` (PostgreSQL outbox or MongoDB pending events)
 * claim by claim, oldest first. Each claim is sent, its sent events marked published and the claim
 * released (failures recorded, the rest left for the next run). Stops when the source is drained,
 * `maxRows` is reached or a claim had transient failures (the broker is down: the next tick tries again).
 * At-least-once: a relay stopping between a send and its mark sends that event again later (consumers
 * dedupe by event id). Throws only when the source itself fails (its database is down).
 * @example await relayOutbox(postgresOutbox(db), { send, log }, { maxRows: 500 })
 */
export async function relayOutbox(
  source: OutboxSource,
  deps: RelayDeps,
  options: RelayOptions = {},
): Promise<RelayResult> {
  const maxRows = options.maxRows ?? 500;
  const batchSize = Math.min(options.batchSize ?? 100, maxRows);
  let published = 0;
  let failedTotal = 0;
  while (published + failedTotal < maxRows) {
    const limit = Math.min(batchSize, maxRows - published - failedTotal);
    const claim = await source.claim(limit);
    const claimed = claim.sequences.reduce((n, s) => n + s.length, 0);
    let outcome: SendOutcome = { ok: [], failed: [] };
    try {
      outcome = await sendSequences(deps.send, claim.sequences);
      await claim.markPublished(outcome.ok);
    } finally {
      await claim.release(outcome.failed);
    }
    published += outcome.ok.length;
    failedTotal += claimed - outcome.ok.length;
    for (const f of outcome.failed.filter((x) => !x.transient)) {
      deps.log.error(
        { code: 'validation_failed', source: source.name, 'ce.id': f.id, err: f.error },
        'the broker refused an outbox event',
      );
    }
    if (outcome.failed.some((f) => f.transient)) {
      deps.log.warn(
        {
          code: 'dependency_unavailable',
          source: source.name,
          failed: outcome.failed.length,
          err: outcome.failed[0]?.error,
        },
        'relay stopped: broker failing',
      );
      break;
    }
    if (claimed < limit) break;
  }
  return { published, failed: failedTotal };
}
