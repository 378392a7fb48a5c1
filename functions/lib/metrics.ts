import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from './prom.ts';

/** The Prometheus metrics every function exposes on /metrics. */
export interface Metrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly httpDuration: Histogram<'route' | 'method' | 'status'>;
  readonly dependencyErrors: Counter<'dependency'>;
  /** 0 closed, 1 half-open, 2 open. */
  readonly circuitState: Gauge<'dependency'>;
  readonly eventsHandled: Counter<'type' | 'outcome'>;
  /** Cache-aside lookups: `cache` (anime, list), `result` hit, miss or error (the store did not answer). */
  readonly cacheLookups: Counter<'cache' | 'result'>;
  /** outbox-relay, after each tick: events not yet published per outbox source (`OutboxSource.name`). */
  readonly outboxPending: Gauge<'source'>;
  /** outbox-relay, after each tick: age in seconds of the oldest unpublished event per source, 0 when none. */
  readonly outboxOldestPending: Gauge<'source'>;
}

/** A fresh registry with the standard series (default process metrics included). */
export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpRequests: new Counter({
      name: 'http_requests_total',
      help: 'HTTP requests by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request latency by route template',
      labelNames: ['route', 'method', 'status'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    dependencyErrors: new Counter({
      name: 'dependency_errors_total',
      help: 'Failed calls to a dependency (database, cache, broker, object store)',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    circuitState: new Gauge({
      name: 'circuit_state',
      help: 'Circuit breaker state per dependency: 0 closed, 1 half-open, 2 open',
      labelNames: ['dependency'],
      registers: [registry],
    }),
    eventsHandled: new Counter({
      name: 'events_handled_total',
      help: 'CloudEvents handled by type and outcome (ok, duplicate, rejected, failed)',
      labelNames: ['type', 'outcome'],
      registers: [registry],
    }),
    cacheLookups: new Counter({
      name: 'cache_lookups_total',
      help: 'Cache-aside lookups by cache and result (hit, miss, error)',
      labelNames: ['cache', 'result'],
      registers: [registry],
    }),
    outboxPending: new Gauge({
      name: 'outbox_pending_events',
      help: 'Events not yet published per outbox source, read by outbox-relay after each tick',
      labelNames: ['source'],
      registers: [registry],
    }),
    outboxOldestPending: new Gauge({
      name: 'outbox_oldest_pending_seconds',
      help: 'Age in seconds of the oldest unpublished event per outbox source (0 when none), after each tick',
      labelNames: ['source'],
      registers: [registry],
    }),
  };
}
