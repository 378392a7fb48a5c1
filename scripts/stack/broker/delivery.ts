/** Knative delivery semantics (pure): how many attempts, how long between them, what is retried. */
import { type Delivery, isoDurationMs } from '../../manifests/load.ts';

/** The dispatcher's default backoff delay when a delivery spec has none (eventing-rabbitmq: 50 ms). */
export const DEFAULT_BACKOFF_MS = 50;

/** Attempts in all: the first plus `retry` retries; with no delivery spec anywhere, one attempt. */
export function attemptsOf(delivery: Delivery | undefined): number {
  return 1 + (delivery?.retry ?? 0);
}

/**
 * Wait before retry number `n` (1-based): linear → delay × n; exponential (the default) → delay × 2^(n−1),
 * so PT0.5S gives 0.5 s, 1 s, 2 s, 4 s, 8 s.
 */
export function backoffMs(delivery: Delivery | undefined, n: number): number {
  const delay = delivery?.backoffDelay
    ? (isoDurationMs(delivery.backoffDelay) ?? DEFAULT_BACKOFF_MS)
    : DEFAULT_BACKOFF_MS;
  return delivery?.backoffPolicy === 'linear' ? delay * n : delay * 2 ** (n - 1);
}

/** Whether a delivery outcome is retried: the one rule producers use too (Knative's selective retry). */
export { isRetryableStatus as isRetryable } from '../../../functions/lib/events/retry.ts';
