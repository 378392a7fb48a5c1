import {
  BrokenCircuitError,
  CircuitState,
  ConsecutiveBreaker,
  circuitBreaker,
  ExponentialBackoff,
  handleWhen,
  type IPolicy,
  retry,
  TimeoutStrategy,
  timeout,
  wrap,
} from 'cockatiel';
import { DependencyUnavailable, IsekaiError } from './errors.ts';
import type { Metrics } from './metrics.ts';

export interface GuardOptions {
  /** Attempts including the first (retries only for idempotent calls). */
  readonly attempts?: number;
  /** Per-attempt timeout. */
  readonly timeoutMs?: number;
  /** Consecutive failures that open the circuit. */
  readonly breakAfter?: number;
  /** How long the circuit stays open before one trial call. */
  readonly halfOpenAfterMs?: number;
  /**
   * Whether an error means the dependency is failing (retry, count toward the breaker, → 503).
   * Anything else is an answer (a constraint violation, our own errors) and is rethrown unchanged.
   */
  readonly isFault?: (error: unknown) => boolean;
}

/** A guarded dependency: `run` executes a call under timeout + retry + circuit breaker. */
export interface Guard {
  readonly name: string;
  run<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T>;
  state(): 'closed' | 'half-open' | 'open';
}

const STATE_VALUE: Record<CircuitState, number> = {
  [CircuitState.Closed]: 0,
  [CircuitState.HalfOpen]: 1,
  [CircuitState.Open]: 2,
  [CircuitState.Isolated]: 2,
};

/**
 * Wrap every outbound call to a dependency: a dead dependency fails fast with DependencyUnavailable
 * (→ 503 + Retry-After at the HTTP boundary) instead of hanging. Our own IsekaiErrors (e.g. a unique
 * violation mapped to Conflict) are answers, not faults: they neither retry nor trip the breaker.
 * @example const pg = createGuard('postgres', metrics); await pg.run(() => pool.query('select 1'));
 */
export function createGuard(name: string, metrics?: Metrics, options: GuardOptions = {}): Guard {
  const halfOpenAfter = options.halfOpenAfterMs ?? 5_000;
  const faultTest = (error: unknown) =>
    !(error instanceof IsekaiError) && (options.isFault === undefined || options.isFault(error));
  const isFault = handleWhen(faultTest);
  const breaker = circuitBreaker(isFault, {
    halfOpenAfter,
    breaker: new ConsecutiveBreaker(options.breakAfter ?? 5),
  });
  const retryPolicy = retry(isFault, {
    maxAttempts: Math.max(0, (options.attempts ?? 2) - 1),
    backoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 500 }),
  });
  // abortOnReturn off: nothing listens to the signal once the call has returned, and aborting it built a
  // DOMException (with its stack) per call — 2–3 % of a rating write's CPU (bench/README.md).
  const timeoutPolicy = timeout(options.timeoutMs ?? 5_000, {
    strategy: TimeoutStrategy.Aggressive,
    abortOnReturn: false,
  });
  const policy: IPolicy = wrap(retryPolicy, breaker, timeoutPolicy);
  metrics?.circuitState.set({ dependency: name }, 0);
  breaker.onStateChange((state) => metrics?.circuitState.set({ dependency: name }, STATE_VALUE[state]));

  return {
    name,
    async run<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
      try {
        return await policy.execute(({ signal }) => call(signal));
      } catch (error) {
        if (error instanceof IsekaiError || !(error instanceof BrokenCircuitError || faultTest(error)))
          throw error;
        metrics?.dependencyErrors.inc({ dependency: name });
        if (error instanceof BrokenCircuitError) {
          throw new DependencyUnavailable(name, {
            cause: error,
            retryAfter: Math.ceil(halfOpenAfter / 1000),
          });
        }
        throw new DependencyUnavailable(name, { cause: error, retryAfter: 1 });
      }
    },
    state() {
      const s = breaker.state;
      return s === CircuitState.Closed ? 'closed' : s === CircuitState.HalfOpen ? 'half-open' : 'open';
    },
  };
}
