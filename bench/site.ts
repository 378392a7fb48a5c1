/**
 * Site benchmark (issue 11): the anime page through the edge, anonymous (from the edge's cache, and with
 * the cache bypassed) and signed in, as ratios against the catalog API read it wraps (`GET /anime/1`
 * through the same edge), measured in one run with rounds alternating. Stack: the catalog, library, rate-anime and edge-auth functions on the lean host (database
 * and seed from bench/tracking-fixture.ts, tokens signed by its JWKS), nginx rendered for the local
 * target, the built site (site/dist) calling the API through that edge. The signed-in visitor's session is
 * written to Redis the way the site stores one (no identity provider needed). `npm run bench site`.
 */
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { selfSignedCert } from '../nginx/run.ts';
import { startTestEdge } from '../scripts/servers/nginx.ts';
import { buildSiteIfNeeded, SITE_ENTRY } from '../scripts/stack/site.ts';
import { freePort, type LoadResult, load, median, startServer } from './lib.ts';
import { createFixture, root } from './tracking-fixture.ts';

const SITE_HOST = 'isekai.localhost';
const API_HOST = 'api.isekai.localhost';

/** One GET of /anime/1 on the site through the edge (SNI and Host isekai.localhost, the edge's CA trusted). */
function page(port: number, cookie: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        servername: SITE_HOST,
        ca,
        path: '/anime/1',
        headers: { host: SITE_HOST, ...(cookie ? { cookie } : {}) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
        });
        res.on('end', () =>
          res.statusCode === 200 ? resolve(body) : reject(new Error(`site answered ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

export async function run(options: { quick: boolean }) {
  const seconds = options.quick ? 2 : 4;
  const rounds = options.quick ? 1 : 3;
  const connections = 16;
  await buildSiteIfNeeded();
  const fixture = await createFixture();
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const [catalog, library, rating] = await Promise.all([
      fixture.start('catalog', 0),
      fixture.start('library', 0),
      fixture.start('rate-anime', 0),
    ]);
    const edgeAuth = await startServer(
      [
        process.execPath,
        `${root}functions/lib/host/main.ts`,
        '--source',
        `${root}functions/edge-auth/index.ts`,
        '--target',
        'edge-auth',
      ],
      fixture.env,
      { cpu: 0, readyPath: '/healthz' },
    );
    stops.push(edgeAuth.stop);
    const port = (s: { url: string }) => Number(new URL(s.url).port);
    // The edge's port and certificate first: the site is configured with its public origin and CA.
    const edgePort = await freePort();
    const tls = await selfSignedCert(join(root, '.tmp', 'nginx-bench-site'), SITE_HOST);
    const sessionPrefix = `${fixture.env.REDIS_KEY_PREFIX}site:session:`;
    const site = await startServer(
      [process.execPath, SITE_ENTRY],
      {
        ...fixture.env,
        SITE_ORIGIN: `https://${SITE_HOST}:${edgePort}`,
        API_BASE_URL: `https://${API_HOST}:${edgePort}`,
        API_CA_FILE: tls.certificate,
        OIDC_CLIENT_SECRET: 'bench-only',
        OIDC_ALLOW_HTTP: 'true',
        SESSION_KEY_PREFIX: sessionPrefix,
      },
      { cpu: 0, readyPath: '/healthz' },
    );
    stops.push(site.stop);
    const edge = await startTestEdge('bench-site', {
      functions: {
        catalog: port(catalog),
        library: port(library),
        'rate-anime': port(rating),
        'edge-auth': port(edgeAuth),
      },
      defaultPort: port(catalog),
      keycloakUrl: 'http://127.0.0.1:9',
      https: edgePort,
      overrides: {
        site: { address: `127.0.0.1:${port(site)}` },
        limits: { perIp: { rate: 100_000, burst: 100_000 }, perToken: { rate: 100_000, burst: 100_000 } },
      },
      cpu: 0,
    });
    stops.push(edge.stop);

    // A signed-in visitor: a session shaped like the site's (src/lib/session.ts), holding a bench token.
    const sid = 'b'.repeat(43);
    const redis = new Redis(fixture.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    await redis.set(
      sessionPrefix + sid,
      JSON.stringify({
        csrf: 'c'.repeat(43),
        user: { sub: 'bench-viewer', username: 'bench-viewer', name: 'Bench Viewer', roles: ['viewer'] },
        tokens: { access: await fixture.token('bench-viewer'), expiresAt: Date.now() + 3_600_000 },
      }),
      'EX',
      3_600,
    );
    stops.push(async () => {
      await redis.del(sessionPrefix + sid);
      redis.disconnect();
    });

    const base = `https://127.0.0.1:${edge.port}`;
    const variants: Record<string, { url: string; servername: string; headers: Record<string, string> }> = {
      'catalog API GET /anime/1 (edge)': {
        url: `${base}/anime/1`,
        servername: API_HOST,
        headers: { host: API_HOST },
      },
      'site /anime/1 anonymous (edge)': {
        url: `${base}/anime/1`,
        servername: SITE_HOST,
        headers: { host: SITE_HOST },
      },
      // A session cookie naming no session: the edge's cache is bypassed, the site renders the anonymous page.
      'site /anime/1 anonymous, uncached (edge)': {
        url: `${base}/anime/1`,
        servername: SITE_HOST,
        headers: { host: SITE_HOST, cookie: '__Host-isekai-sid=no-such-session' },
      },
      'site /anime/1 signed in (edge)': {
        url: `${base}/anime/1`,
        servername: SITE_HOST,
        headers: { host: SITE_HOST, cookie: `__Host-isekai-sid=${sid}` },
      },
    };
    // The signed-in variant must really be signed in: its page carries the viewer's list form.
    const signedIn = await page(edge.port, `__Host-isekai-sid=${sid}`, tls.pem);
    if (!signedIn.includes('name="action" value="entry"'))
      throw new Error('the bench session is not signed in');
    if ((await page(edge.port, '', tls.pem)).includes('name="action" value="entry"'))
      throw new Error('the anonymous page shows a list form');
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0'; // the load workers inherit it: the edge's cert is self-signed
    for (const v of Object.values(variants)) await load(v.url, { ...v, seconds: 1, connections, cpu: 1 });
    const results: Record<string, LoadResult[]> = {};
    for (let round = 0; round < rounds; round++) {
      const order = Object.entries(variants);
      for (const [name, v] of round % 2 === 0 ? order : order.reverse()) {
        const result = await load(v.url, { ...v, seconds, connections, cpu: 1 });
        results[name] ??= [];
        results[name].push(result);
        process.stdout.write(
          `  ${name.padEnd(34)} ${result.requestsPerSec.toFixed(0).padStart(7)} req/s  p99 ${result.p99Ms} ms  non-2xx ${result.non2xx}\n`,
        );
      }
    }
    const rps = (name: string) => median((results[name] ?? []).map((r) => r.requestsPerSec));
    const floor = rps('catalog API GET /anime/1 (edge)');
    const ratios = Object.fromEntries(
      Object.keys(variants).map((n) => [n, Number((rps(n) / floor).toFixed(3))]),
    );
    process.stdout.write(`  ratios to the catalog API read through the edge: ${JSON.stringify(ratios)}\n`);
    return { seconds, rounds, connections, results, ratios };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await fixture.close();
  }
}

if (import.meta.main) await run({ quick: process.env.BENCH_QUICK === '1' });
