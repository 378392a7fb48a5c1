/** Knative delivery semantics: how many attempts, how long between them, what is retried (cockatiel runs the loop). */
import { DelegateBackoff, handleWhenResult, type RetryPolicy, retry } from 'cockatiel';
import type { ErrorCode } from '../../../functions/lib/errors.ts';
import { isRetryableStatus } from '../../../functions/lib/events/retry.ts';
import { isoDurationMs } from '../../manifests/duration.ts';
import type { Delivery } from '../../manifests/knative-types.ts';

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
export { isRetryableStatus as isRetryable };

/** One delivery attempt's outcome: the subscriber's HTTP status (−1: no response) and answer body. */
export interface Attempt {
  readonly status: number;
  readonly body: string;
}

/** A 2xx answer: the subscriber took the event. */
export const delivered = (attempt: Attempt): boolean => attempt.status >= 200 && attempt.status < 300;

/** The code of each 4xx a subscriber may refuse an event with (functions/lib/problem.ts, inverted). */
const REFUSALS: Readonly<Record<number, ErrorCode>> = {
  400: 'validation_failed',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable',
  429: 'rate_limited',
};

/**
 * The error code a failed delivery is logged with. No response, a 5xx or a 408: the subscriber is
 * unavailable (`dependency_unavailable`). Any other 4xx is the event's fault (refused, dead-lettered once
 * the retryable ones run out): the code of the subscriber's problem+json answer when it names a known
 * one, else the status's own (`unprocessable` for 422), else `delivery_failed`.
 * @example failureCode({ status: 422, body: '{"code":"unprocessable"}' }) // 'unprocessable'
 */
export function failureCode(attempt: Attempt): ErrorCode {
  const { status } = attempt;
  if (status < 0 || status >= 500 || status === 408) return 'dependency_unavailable';
  const byStatus = REFUSALS[status];
  try {
    const named = (JSON.parse(attempt.body) as { code?: unknown }).code;
    if (typeof named === 'string' && Object.values(REFUSALS).includes(named as ErrorCode))
      return named as ErrorCode;
  } catch {
    // not JSON: the status decides
  }
  return byStatus ?? 'delivery_failed';
}

/**
 * The retry policy of one queue's deliveries (a cockatiel `retry`): up to `attemptsOf(delivery)` attempts,
 * `backoffMs(delivery, n)` before retry n, and only outcomes `isRetryable` retried — a permanent 4xx ends
 * it at once. `execute` resolves with the last attempt's outcome (it never throws for a failed delivery).
 * @example const outcome = await deliveryRetry(route.delivery).execute(({ attempt }) => post(…));
 */
export function deliveryRetry(delivery: Delivery | undefined): RetryPolicy {
  return retry(
    handleWhenResult((outcome) => {
      const attempt = outcome as Attempt;
      return !delivered(attempt) && isRetryableStatus(attempt.status);
    }),
    {
      maxAttempts: attemptsOf(delivery) - 1,
      backoff: new DelegateBackoff((context) => backoffMs(delivery, context.attempt)),
    },
  );
}
