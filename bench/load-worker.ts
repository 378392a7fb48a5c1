/** Runs one autocannon measurement (in its own process, on its own core) and prints the summary JSON. */
import autocannon from 'autocannon';

const spec = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  seconds: number;
  connections: number;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  servername?: string;
};
const result = await autocannon({
  url: spec.url,
  duration: spec.seconds,
  connections: spec.connections,
  pipelining: 1,
  method: (spec.method ?? 'GET') as 'GET',
  headers: spec.headers ?? {},
  ...(spec.body !== undefined ? { body: spec.body } : {}),
  ...(spec.servername !== undefined ? { servername: spec.servername } : {}),
});
process.stdout.write(
  JSON.stringify({
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }),
);
