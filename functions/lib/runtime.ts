import { BaseSettings, loadConfig } from './config.ts';
import { createLogger, type Logger } from './logger.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createGuard, type Guard, type GuardOptions } from './resilience.ts';
import { createTracing, type Tracing } from './tracing/tracer.ts';

/** A readiness check: resolves when the dependency answers, throws when it does not. */
export type Check = () => Promise<unknown>;

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}

/** What every function gets once at start-up: settings, logger, tracer, metrics, guards, lifecycle. */
export interface Runtime {
  readonly name: string;
  readonly settings: BaseSettings;
  readonly log: Logger;
  readonly tracing: Tracing;
  readonly metrics: Metrics;
  /** The guard (timeout + retry + circuit breaker) for a dependency, created on first use. */
  guard(dependency: string, options?: GuardOptions): Guard;
  /** Register a readiness check; /readyz runs them all. */
  addCheck(name: string, check: Check): void;
  readiness(): Promise<ReadinessReport>;
  /** Register cleanup (close pools, flush spans), run in reverse order by shutdown(). */
  onShutdown(close: () => Promise<unknown> | unknown): void;
  shutdown(): Promise<void>;
}

interface RuntimeOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Test hook: where log lines go. */
  readonly logDestination?: Parameters<typeof createLogger>[0]['destination'];
}

/** Every runtime created in this process (the host serves their readiness and metrics, shuts them down). */
export const runtimes = new Set<Runtime>();

/**
 * Create the runtime for function `name`. Parses the base settings (fails fast with ConfigInvalid).
 * @example const runtime = createRuntime('catalog');
 */
export function createRuntime(name: string, options: RuntimeOptions = {}): Runtime {
  const settings = loadConfig(BaseSettings, options.env ?? process.env);
  const service = settings.K_SERVICE ?? name;
  const tracing = createTracing({
    serviceName: service,
    zipkinUrl: settings.ZIPKIN_URL,
    // Without a Zipkin server nothing would receive spans: propagate context, record nothing.
    sampleRate: settings.ZIPKIN_URL ? settings.TRACE_SAMPLE_RATE : 0,
  });
  const log = createLogger({
    service,
    level: settings.LOG_LEVEL,
    traceId: tracing.currentTraceId,
    destination: options.logDestination,
  });
  const metrics = createMetrics(service);
  const guards = new Map<string, Guard>();
  const checks = new Map<string, Check>();
  const closers: (() => Promise<unknown> | unknown)[] = [() => tracing.flush(), () => log.flush()];

  const runtime: Runtime = {
    name,
    settings,
    log,
    tracing,
    metrics,
    guard(dependency, guardOptions) {
      let guard = guards.get(dependency);
      if (!guard) {
        guard = createGuard(dependency, metrics, guardOptions);
        guards.set(dependency, guard);
      }
      return guard;
    },
    addCheck(checkName, check) {
      checks.set(checkName, check);
    },
    async readiness() {
      const report: ReadinessReport = { ready: true, checks: {} };
      await Promise.all(
        [...checks].map(async ([checkName, check]) => {
          const start = performance.now();
          try {
            await check();
            report.checks[checkName] = { ok: true, ms: Math.round(performance.now() - start) };
          } catch (error) {
            report.ready = false;
            report.checks[checkName] = {
              ok: false,
              ms: Math.round(performance.now() - start),
              error: error instanceof Error ? error.message : String(error),
            };
          }
        }),
      );
      return report;
    },
    onShutdown(close) {
      closers.push(close);
    },
    async shutdown() {
      for (const close of closers.reverse()) {
        try {
          await close();
        } catch (error) {
          log.warn({ err: error }, 'shutdown step failed');
        }
      }
      runtimes.delete(runtime);
    },
  };
  runtimes.add(runtime);
  return runtime;
}
