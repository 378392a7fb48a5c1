import { describe, expect, it } from 'vitest';
import { createMetrics, httpRequestRecorder, type Metrics } from './metrics.ts';

/** The request series of a registry as Prometheus text (process metrics left out: they differ by the ms). */
async function requestSeries(metrics: Metrics): Promise<string> {
  const text = await metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => /^http_request/.test(line))
    .join('\n');
}

// route, method, status, seconds: repeats, several statuses, every bucket, one past the last bound.
const requests: [string, string, number, number][] = [
  ['/anime/:id', 'GET', 200, 0.0004],
  ['/anime/:id', 'GET', 200, 0.0031],
  ['/anime/:id', 'GET', 404, 0.002],
  ['/anime/:id', 'HEAD', 200, 0.001],
  ['unmatched', 'GET', 404, 0.00005],
  ['/anime/:id', 'GET', 200, 0.07],
  ['/anime/:id', 'GET', 200, 7.5],
  ['/anime', 'GET', 200, 0.25],
  ['/anime/:id', 'GET', 200, 1],
  ['/anime/:id/rating', 'PUT', 503, 2.4],
];

describe('httpRequestRecorder', () => {
  it("writes what prom-client's inc + observe write: same series, labels and values", async () => {
    const ours = createMetrics('m');
    const theirs = createMetrics('m');
    const record = httpRequestRecorder(ours);
    for (const [route, method, status, seconds] of [...requests, ...requests]) {
      record(route, method, status, seconds);
      const labels = { route, method, status: String(status) };
      theirs.httpRequests.inc(labels);
      theirs.httpDuration.observe(labels, seconds);
    }
    const text = await requestSeries(ours);
    expect(text).toBe(await requestSeries(theirs));
    expect(text).toContain(
      'http_requests_total{route="/anime/:id",method="GET",status="200",service="m"} 10',
    );
  });

  it('honours reset() and remove() of the series it writes to', async () => {
    const metrics = createMetrics('m');
    const record = httpRequestRecorder(metrics);
    for (let i = 0; i < 3; i++) record('/anime', 'GET', 200, 0.001);
    metrics.registry.resetMetrics();
    record('/anime', 'GET', 200, 0.001);
    expect(await requestSeries(metrics)).toContain(
      'http_requests_total{route="/anime",method="GET",status="200",service="m"} 1',
    );
    metrics.httpRequests.remove({ route: '/anime', method: 'GET', status: '200' });
    metrics.httpDuration.remove({ route: '/anime', method: 'GET', status: '200' });
    record('/anime', 'GET', 200, 0.001);
    const text = await requestSeries(metrics);
    expect(text).toContain('http_requests_total{route="/anime",method="GET",status="200",service="m"} 1');
    expect(text).toContain(
      'http_request_duration_seconds_count{service="m",route="/anime",method="GET",status="200"} 1',
    );
  });
});
