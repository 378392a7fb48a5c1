import { describe, expect, it } from 'vitest';
import { Conflict, DependencyUnavailable } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { createGuard } from './resilience.ts';

describe('createGuard', () => {
  it('retries a transient failure and returns the result', async () => {
    const guard = createGuard('db', undefined, { attempts: 3 });
    let calls = 0;
    const result = await guard.run(async () => {
      calls += 1;
      if (calls < 2) throw new Error('ECONNRESET');
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(calls).toBe(2);
  });

  it('opens the circuit after consecutive failures and then fails fast without calling', async () => {
    const metrics = createMetrics('test');
    const guard = createGuard('cache', metrics, { attempts: 1, breakAfter: 2, halfOpenAfterMs: 60_000 });
    let calls = 0;
    const failing = async () => {
      calls += 1;
      throw new Error('ECONNREFUSED');
    };
    await expect(guard.run(failing)).rejects.toBeInstanceOf(DependencyUnavailable);
    await expect(guard.run(failing)).rejects.toBeInstanceOf(DependencyUnavailable);
    expect(guard.state()).toBe('open');
    const error = await guard.run(failing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailable);
    expect((error as DependencyUnavailable).code).toBe('dependency_unavailable');
    expect((error as DependencyUnavailable).retryAfter).toBe(60);
    expect(calls).toBe(2);
    const metric = await metrics.registry.getSingleMetricAsString('circuit_state');
    expect(metric).toMatch(/circuit_state\{dependency="cache",service="test"\} 2/);
  });

  it('times out a hanging call', async () => {
    const guard = createGuard('s3', undefined, { attempts: 1, timeoutMs: 20 });
    const error = await guard.run(() => new Promise(() => undefined)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DependencyUnavailable);
  });

  it('passes our own errors through without retrying or tripping the breaker', async () => {
    const guard = createGuard('db', undefined, { attempts: 3, breakAfter: 1 });
    let calls = 0;
    const conflict = async () => {
      calls += 1;
      throw new Conflict('already rated');
    };
    await expect(guard.run(conflict)).rejects.toBeInstanceOf(Conflict);
    await expect(guard.run(conflict)).rejects.toBeInstanceOf(Conflict);
    expect(calls).toBe(2);
    expect(guard.state()).toBe('closed');
  });
});
