import { describe, expect, it } from 'vitest';
import { brokers, triggers } from '../../manifests/load.ts';
import { attemptsOf, backoffMs, isRetryable } from './delivery.ts';
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
