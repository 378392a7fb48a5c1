/**
 * Edge benchmark (issue 3): what the auth cache buys. The same echo route (`GET /anime/1`, a public read)
 * measured in one run, rounds alternating:
 * - bare upstream: the echo function on the lean host, straight;
 * - nginx, anonymous: TLS + auth_request (cached anonymous answer) + proxy;
 * - nginx, authenticated (cache warm): the same with a bearer token;
 * - nginx, authenticated, auth cache off: every request verified by edge-auth (what the cache saves);
 * - TLS proxy floor, with and without the token: nginx with the edge's TLS settings and keep-alive
 *   upstream doing nothing else (`edge-floor.ts`) — what any TLS proxy on this core costs, so the edge's
 *   own work shows apart from the hop's (our rows).
 * The token is RS256, verified by the real edge-auth against a JWKS served here (no Keycloak needed:
 * after the first fetch the path is the same). nginx, edge-auth and echo share core 0; load runs on core 1.
 */
import { startTestEdge } from '../scripts/servers/nginx.ts';
import { startFloorProxy } from './edge-floor.ts';
import { API_HOST, startEdgeUpstreams, UNLIMITED } from './edge-setup.ts';
import { freePort, type LoadResult, load, median } from './lib.ts';

const root = new URL('..', import.meta.url).pathname;

export interface EdgeBenchResult {
  throughput: Record<string, LoadResult[]>;
  medianRps: Record<string, number>;
  ratios: Record<string, number>;
}

export async function run(options: { quick: boolean }): Promise<EdgeBenchResult> {
  const seconds = options.quick ? 2 : 4;
  const rounds = options.quick ? 1 : 5;
  const connections = 16;

  const up = await startEdgeUpstreams(root);
  const { token, jwksUrl, echo, edgeAuth, port } = up;
  const edges = [];
  let floor: Awaited<ReturnType<typeof startFloorProxy>> | undefined;
  try {
    for (const [id, authCache] of [
      ['bench', true],
      ['bench-nocache', false],
    ] as const) {
      edges.push(
        await startTestEdge(id, {
          functions: { 'edge-auth': port(edgeAuth) },
          defaultPort: port(echo),
          keycloakUrl: jwksUrl,
          https: await freePort(),
          http: await freePort(),
          overrides: { limits: UNLIMITED, authCache, traceSamplePercent: 0, accessLogBuffer: '64k' },
          cpu: 0,
        }),
      );
    }
    const [cached, uncached] = edges as [(typeof edges)[0], (typeof edges)[0]];
    floor = await startFloorProxy({
      prefix: `${cached.prefix}-floor`,
      port: await freePort(),
      upstreamPort: port(echo),
      certificate: cached.options.tls.certificate,
      key: cached.options.tls.key,
      cpu: 0,
    });
    const floorVia = (auth: boolean) => ({
      url: `https://127.0.0.1:${floor?.port}/anime/1`,
      servername: API_HOST,
      headers: { host: API_HOST, ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    });
    const via = (edge: typeof cached, auth: boolean) => ({
      url: `https://127.0.0.1:${edge.port}/anime/1`,
      servername: API_HOST,
      headers: { host: API_HOST, ...(auth ? { authorization: `Bearer ${token}` } : {}) },
    });
    const variants: Record<string, { url: string; servername?: string; headers?: Record<string, string> }> = {
      'bare upstream (echo)': { url: `${echo.url}/anime/1` },
      'nginx, anonymous': via(cached, false),
      'nginx, authenticated (cache warm)': via(cached, true),
      'nginx, authenticated, no auth cache': via(uncached, true),
      'TLS proxy floor, anonymous': floorVia(false),
      'TLS proxy floor, with the token': floorVia(true),
    };
    // Warm up: JWKS fetched, auth answers cached, keep-alive pools open, JIT warm.
    for (const v of Object.values(variants)) await load(v.url, { ...v, seconds: 1, connections, cpu: 1 });

    const throughput: Record<string, LoadResult[]> = {};
    for (let round = 0; round < rounds; round++) {
      for (const [name, v] of Object.entries(variants)) {
        const result = await load(v.url, { ...v, seconds, connections, cpu: 1 });
        if (result.non2xx > 0 || result.errors > 0)
          throw new Error(`${name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
        throughput[name] = [...(throughput[name] ?? []), result];
        process.stdout.write(
          `  round ${round + 1} ${name.padEnd(38)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p50 ${result.p50Ms} ms  p99 ${result.p99Ms} ms\n`,
        );
      }
    }
    const medianRps = Object.fromEntries(
      Object.entries(throughput).map(([name, rs]) => [name, median(rs.map((r) => r.requestsPerSec))]),
    );
    // Paired per round (variants of one round ran back to back), then the median: robust to the
    // shared machine's load drifting between rounds.
    const paired = (a: string, b: string) =>
      median(
        (throughput[a] ?? []).map(
          (r, i) => r.requestsPerSec / (throughput[b]?.[i]?.requestsPerSec ?? Number.NaN),
        ),
      );
    const ratios = {
      'authenticated (cached) / anonymous': paired('nginx, authenticated (cache warm)', 'nginx, anonymous'),
      'authenticated, no cache / anonymous': paired(
        'nginx, authenticated, no auth cache',
        'nginx, anonymous',
      ),
      'anonymous via nginx / bare upstream': paired('nginx, anonymous', 'bare upstream (echo)'),
      // The floor's own rows: what the hop costs with nginx doing nothing else.
      'TLS proxy floor / bare upstream': paired('TLS proxy floor, anonymous', 'bare upstream (echo)'),
      'TLS proxy floor with the token / without': paired(
        'TLS proxy floor, with the token',
        'TLS proxy floor, anonymous',
      ),
      // Our rows: the edge's own work against that floor, each kind against the same request.
      'anonymous via nginx / TLS proxy floor': paired('nginx, anonymous', 'TLS proxy floor, anonymous'),
      'authenticated (cached) / TLS proxy floor with the token': paired(
        'nginx, authenticated (cache warm)',
        'TLS proxy floor, with the token',
      ),
    };
    process.stdout.write('\nthroughput ratios (median of per-round ratios):\n');
    for (const [name, ratio] of Object.entries(ratios))
      process.stdout.write(`  ${name.padEnd(40)} ${(ratio * 100).toFixed(1)} %\n`);
    const result = { throughput, medianRps, ratios };
    process.stdout.write(`${JSON.stringify({ edge: { medianRps, ratios } })}\n`);
    return result;
  } finally {
    for (const e of edges) await e.stop();
    await floor?.stop();
    await up.stop();
  }
}
