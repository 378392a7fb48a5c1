import { describe, expect, it } from 'vitest';
import { brokers, triggers } from '../../manifests/load.ts';
import { type Attempt, attemptsOf, backoffMs, deliveryRetry, isRetryable } from './delivery.ts';
import { planTopology } from './topology.ts';

describe('delivery', () => {
  it.each([
    [
      'exponential PT0.5S',
      { backoffPolicy: 'exponential' as const, backoffDelay: 'PT0.5S' },
      [500, 1000, 2000, 4000, 8000],
    ],
    [
      'linear PT0.2S',
      { backoffPolicy: 'linear' as const, backoffDelay: 'PT0.2S' },
      [200, 400, 600, 800, 1000],
    ],
    ['no delay given (50 ms default)', { backoffPolicy: 'exponential' as const }, [50, 100, 200, 400, 800]],
  ])('%s waits as Knative does', (_name, delivery, waits) => {
    expect([1, 2, 3, 4, 5].map((n) => backoffMs(delivery, n))).toEqual(waits);
  });

  it('tries once plus `retry` times, once when there is no delivery spec', () => {
    expect(attemptsOf({ retry: 5 })).toBe(6);
    expect(attemptsOf(undefined)).toBe(1);
  });

  it.each([
    [-1, true],
    [500, true],
    [503, true],
    [404, true],
    [408, true],
    [409, true],
    [429, true],
    [400, false],
    [401, false],
    [403, false],
    [422, false],
  ])('status %i retried: %s', (status, retried) => {
    expect(isRetryable(status)).toBe(retried);
  });
});

describe("deliveryRetry (the dispatcher's cockatiel policy)", () => {
  /** Runs the policy over answers given in turn; returns the statuses tried and the waits before each retry. */
  async function run(delivery: Parameters<typeof deliveryRetry>[0], answers: number[]) {
    const policy = deliveryRetry(delivery);
    const waits: number[] = [];
    policy.onRetry((r) => waits.push(r.delay));
    const tried: number[] = [];
    const last = (await policy.execute(({ attempt }) => {
      const status = answers[Math.min(attempt, answers.length - 1)] ?? -1;
      tried.push(status);
      return { status, body: '' } satisfies Attempt;
    })) as Attempt;
    return { tried, waits, last: last.status };
  }

  it.each([
    ['stops at the first 2xx', [503, -1, 202], [503, -1, 202], [2, 4]],
    ['gives up after 1 + retry attempts on transient failures', [503], [503, 503, 503, 503], [2, 4, 8]],
    ['does not retry a permanent 4xx', [503, 400, 202], [503, 400], [2]],
  ])('%s', async (_name, answers, tried, waits) => {
    const result = await run({ retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.002S' }, answers);
    expect(result.tried).toEqual(tried);
    expect(result.waits).toEqual(waits);
    expect(result.last).toBe(tried.at(-1));
  });

  it('waits linearly when the delivery says linear, and tries once without a delivery spec', async () => {
    expect((await run({ retry: 2, backoffPolicy: 'linear', backoffDelay: 'PT0.003S' }, [500])).waits).toEqual(
      [3, 6],
    );
    expect((await run(undefined, [500])).tried).toEqual([500]);
  });
});

describe('topology from knative/base', () => {
  const [broker] = brokers();
  const plan = broker ? planTopology(broker, triggers(), { uid: 'u' }) : undefined;

  it('binds one queue per trigger with its filter, x-knative-trigger and x-match all', () => {
    for (const t of triggers()) {
      expect(plan?.bindings.get(`t.${t.namespace}.${t.name}.u`)).toEqual({
        ...t.filter,
        'x-knative-trigger': t.name,
        'x-match': 'all',
      });
    }
    expect(plan?.exchange).toBe('b.isekai.default.u');
  });

  it('gives every queue a dead-letter route and every dead-letter queue a feeding exchange', () => {
    const queues = plan?.routes.filter((r) => !r.fedBy) ?? [];
    expect(queues.length).toBe(triggers().length);
    for (const r of queues) expect(r.deadLetterExchange).toBeDefined();
    for (const r of plan?.routes.filter((x) => x.fedBy) ?? []) {
      expect(r.deadLetterExchange).toBeUndefined();
      expect(r.subscriber.service).toBe('dead-letters');
    }
  });
});
