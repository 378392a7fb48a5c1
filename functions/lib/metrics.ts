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

/** prom-client's own storage of one labelled series (15.x: `hashMap[labelHash]`), read by its `get()`. */
interface CounterSeries {
  value: number;
}
interface HistogramSeries {
  sum: number;
  count: number;
  bucketValues: Record<string, number>;
}
interface Stored<S> {
  hashMap: Record<string, S | undefined>;
}

/** One (route, method, status): its labels, prom-client's hash of them, and the two series it updates. */
interface Cell {
  readonly labels: { route: string; method: string; status: string };
  hash: string;
  requests: CounterSeries | undefined;
  duration: HistogramSeries | undefined;
}

/**
 * Record one answered request in `http_requests_total` and `http_request_duration_seconds` (same names,
 * labels and values as `inc(labels)` + `observe(labels, seconds)`). prom-client builds and checks a
 * label hash on every call; here the first request of a (route, method, status) goes through its API
 * and the series it made are kept, so later ones add to them directly — checked against prom-client's
 * map each time, so a `reset()` or `remove()` is honoured (the next request goes through the API again).
 * @example const record = httpRequestRecorder(metrics); record('/anime/:id', 'GET', 200, 0.0021);
 */
export function httpRequestRecorder(
  metrics: Metrics,
): (route: string, method: string, status: number, seconds: number) => void {
  const { httpRequests, httpDuration } = metrics;
  const counter = httpRequests as unknown as Stored<CounterSeries>;
  const histogram = httpDuration as unknown as Stored<HistogramSeries> & { upperBounds: number[] };
  const bounds = histogram.upperBounds;
  // prom-client keys bucketValues by the bound as a string (`acc[upperBound] = 0`).
  const bucketKeys = bounds.map(String);
  const cells = new Map<string, Map<string, Map<number, Cell>>>();
  return (route, method, status, seconds) => {
    let byMethod = cells.get(route);
    if (!byMethod) {
      byMethod = new Map();
      cells.set(route, byMethod);
    }
    let byStatus = byMethod.get(method);
    if (!byStatus) {
      byStatus = new Map();
      byMethod.set(method, byStatus);
    }
    let cell = byStatus.get(status);
    if (!cell) {
      cell = {
        labels: { route, method, status: String(status) },
        hash: '',
        requests: undefined,
        duration: undefined,
      };
      byStatus.set(status, cell);
    }
    const requests = counter.hashMap[cell.hash];
    const duration = histogram.hashMap[cell.hash];
    if (!requests || !duration || requests !== cell.requests || duration !== cell.duration) {
      // prom-client's inc() answers `{ labelHash }` (typed void); without it every call takes this path.
      cell.hash =
        (httpRequests.inc(cell.labels) as unknown as { labelHash: string } | undefined)?.labelHash ?? '';
      httpDuration.observe(cell.labels, seconds);
      cell.requests = counter.hashMap[cell.hash];
      cell.duration = histogram.hashMap[cell.hash];
      return;
    }
    requests.value += 1;
    duration.sum += seconds;
    duration.count += 1;
    for (let i = 0; i < bounds.length; i++) {
      if (seconds <= (bounds[i] as number)) {
        const key = bucketKeys[i] as string;
        duration.bucketValues[key] = (duration.bucketValues[key] ?? 0) + 1;
        break;
      }
    }
  };
}
