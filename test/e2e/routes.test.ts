import { readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { http } from '@google-cloud/functions-framework';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPENAPI_FILE } from '../../api/render.ts';
import { type DeclaredRoute, declaredRoutes } from '../../api/routes.ts';
import { freePort } from '../../bench/lib.ts';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { edgeAuthFromEnv } from '../../functions/edge-auth/edge-auth.ts';
import { integratorIngressFromEnv } from '../../functions/integrator-ingress/settings.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import type { HttpHandler } from '../../functions/lib/http/http-function.ts';
import { libraryFromEnv } from '../../functions/library/library.ts';
import { wireNotifications } from '../../functions/notifications/settings.ts';
import { rateAnimeFromEnv } from '../../functions/rate-anime/rate-anime.ts';
import { subtitlesFromEnv } from '../../functions/subtitles/subtitles.ts';
import { uploadSubtitleFromEnv } from '../../functions/upload-subtitle/upload-subtitle.ts';
import { clientCredentialsToken, DEV_USERS, passwordToken } from '../setup/keycloak-client.ts';
import { type EdgeResponse, edgeRequest, startTestEdge, type TestEdge } from '../setup/servers/nginx.ts';
import { scratchBucket } from '../support/subtitles.ts';
import { prepareDatabase } from '../support/tracking.ts';

/**
 * Issue 10 / 18: the real system behind the edge. Every HTTP function runs on the lean host with the
 * production wiring (`<fn>FromEnv`, what each index.ts registers; tokens verified against the real
 * Keycloak's JWKS), behind real nginx rendered from the route table. One request per declared route
 * and caller goes through the edge; each function's own `http_requests_total` says which function and
 * which route template answered.
 */

const env = inject('env');
const routes = declaredRoutes();
const servers: Server[] = [];
const ports: Record<string, number> = {};
const tokens: Record<string, string> = {};
let edge: TestEdge;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
const mongoDatabase = `isekai_${env.TEST_RUN_ID}_routes`;

interface Outcome {
  readonly route: string;
  readonly anonymous: number;
  readonly allowed: number;
  readonly wrongRole?: number;
  readonly reached: boolean;
  /** The success body was checked against the route's declared response schema. */
  readonly responseChecked: boolean;
}
const outcomes: Outcome[] = [];
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);

async function serve(name: string, handler: HttpHandler): Promise<void> {
  http(name, handler);
  const server = createHostServer({ target: name });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  ports[name] = (server.address() as AddressInfo).port;
}

/** A concrete path for a template (parameters that exist where it matters: a seeded anime, a user). */
function sample(route: DeclaredRoute): string {
  const values: Record<string, string> = {
    id: '1',
    animeId: '1',
    episode: '1',
    year: '2024',
    season: 'winter',
    user: 'viewer1',
    date: '2026-01-05',
  };
  return route.path.replace(/:(\w+)/g, (_m, name: string) => values[name] ?? 'x');
}

/** A body the route reads: its example, or a small one of its first media type (invalid is fine: reached). */
function bodyOf(route: DeclaredRoute): { body?: string; headers: Record<string, string> } {
  if (route.body)
    return { body: JSON.stringify(route.example ?? {}), headers: { 'content-type': 'application/json' } };
  const type = route.consumes?.[0];
  if (type === undefined) return { headers: {} };
  if (type.startsWith('multipart/'))
    return { body: '--x--\r\n', headers: { 'content-type': 'multipart/form-data; boundary=x' } };
  if (type === 'application/xml')
    return { body: '<myanimelist></myanimelist>', headers: { 'content-type': type } };
  return { body: '{}', headers: { 'content-type': type } };
}

/** One request through the edge; streams answer once their headers arrive (then the stream is closed). */
function send(route: DeclaredRoute, token: string | undefined): Promise<EdgeResponse> {
  const { body, headers } = bodyOf(route);
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const init = { method: route.method, path: sample(route), headers: { ...headers, ...auth }, body };
  const sub = route.host === 'events' ? 'events' : 'api';
  if (!route.stream) return edgeRequest(edge, sub, init);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: edge.port,
        servername: `${sub}.isekai.localhost`,
        ca: edge.ca,
        agent: false,
        method: init.method,
        path: init.path,
        headers: { host: `${sub}.isekai.localhost`, ...init.headers },
      },
      (res) => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', json: () => ({}) as never });
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Requests each function counted, by `<fn> <METHOD> <route template>` (its own metrics, read directly). */
async function counted(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await Promise.all(
    Object.entries(ports)
      .filter(([fn]) => fn !== 'edge-auth')
      .map(async ([fn, port]) => {
        const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        for (const line of text.split('\n')) {
          const m = /^http_requests_total\{route="([^"]*)",method="([^"]*)",status="\d+"[^}]*\} (\d+)/.exec(
            line,
          );
          if (!m || m[1] === '/metrics') continue;
          const key = `${fn} ${m[2]} ${m[1]}`;
          counts.set(key, (counts.get(key) ?? 0) + Number(m[3]));
        }
      }),
  );
  return counts;
}

/** What changed between two counts (keys whose count grew, with the growth). */
function grown(before: Map<string, number>, after: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, n] of after) if (n > (before.get(key) ?? 0)) out[key] = n - (before.get(key) ?? 0);
  return out;
}

/** A token with the access the route needs (viewer for plain user routes), and one without the role. */
function callers(route: DeclaredRoute): { allowed: string; wrong?: string } {
  const access = route.access;
  if (typeof access !== 'object') return { allowed: tokens.viewer ?? '' };
  const role = access.roles[0];
  const allowed =
    role === 'integrator' ? tokens.integrator : role === 'uploader' ? tokens.uploader : tokens.moderator;
  return { allowed: allowed ?? '', wrong: tokens.viewer ?? '' };
}

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL ?? '');
  bucket = await scratchBucket(env, 'routes');
  const fnEnv: Record<string, string> = {
    DATABASE_URL: env.DATABASE_URL ?? '',
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'isekai:'}routes:`,
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: mongoDatabase,
    S3_ENDPOINT: env.S3_ENDPOINT ?? '',
    S3_REGION: env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? '',
    SUBTITLE_BUCKET: bucket.bucket,
    BACKUP_BUCKET: bucket.bucket,
    SUBTITLE_RELAY_INTERVAL_MS: '0',
    // The real Keycloak: every function fetches its JWKS and verifies tokens itself, as in production.
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
    // Nothing listens: accepted integrator events would be refused by the broker (503), never faked.
    K_SINK: `http://127.0.0.1:${await freePort()}/`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  await serve('edge-auth', edgeAuthFromEnv(fnEnv));
  await serve('catalog', catalogFromEnv(fnEnv));
  await serve('rate-anime', rateAnimeFromEnv(fnEnv));
  await serve('library', libraryFromEnv(fnEnv));
  await serve('subtitles', subtitlesFromEnv(fnEnv));
  await serve('upload-subtitle', uploadSubtitleFromEnv(fnEnv));
  await serve('notifications', wireNotifications(fnEnv).handler);
  await serve('integrator-ingress', integratorIngressFromEnv(fnEnv));

  const [viewer, uploader, moderator, integrator] = await Promise.all([
    passwordToken(env, 'viewer1', DEV_USERS.viewer1.password),
    passwordToken(env, 'uploader1', DEV_USERS.uploader1.password),
    passwordToken(env, 'moderator1', DEV_USERS.moderator1.password),
    clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID ?? '',
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET ?? '',
    ),
  ]);
  tokens.viewer = viewer.access_token;
  tokens.uploader = uploader.access_token;
  tokens.moderator = moderator.access_token;
  tokens.integrator = integrator.access_token;

  edge = await startTestEdge('routes', {
    functions: ports,
    defaultPort: await freePort(),
    keycloakUrl: env.KEYCLOAK_URL ?? '',
    overrides: { limits: { perIp: { rate: 1000, burst: 1000 }, perToken: { rate: 1000, burst: 1000 } } },
  });
}, 180_000);

afterAll(async () => {
  const reached = outcomes.filter((o) => o.reached).length;
  const lines = outcomes.map(
    (o) =>
      `  ${o.route}: anonymous ${o.anonymous}, allowed ${o.allowed}${o.wrongRole ? `, wrong role ${o.wrongRole}` : ''}${o.responseChecked ? ', response schema ok' : ''}`,
  );
  process.stdout.write(
    `[routes] declared ${routes.length}, requested ${outcomes.length}, reached ${reached} through the edge, ${outcomes.filter((o) => o.responseChecked).length} answers checked against their response schema\n${lines.join('\n')}\n`,
  );
  await edge?.stop();
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await bucket?.drop();
  const client = new MongoClient(env.MONGO_URL ?? '');
  await client
    .db(mongoDatabase)
    .dropDatabase()
    .catch(() => undefined);
  await client.close();
});

describe('every declared route, through real nginx to the real function', () => {
  it.each(routes.map((r) => [`${r.host} ${r.method} ${r.path} (${r.fn})`, r] as const))(
    '%s',
    async (_name, route) => {
      const needsUser = route.access === 'user' || typeof route.access === 'object';
      const before = await counted();
      const anonymous = await send(route, undefined);
      if (needsUser) {
        expect(anonymous.status).toBe(401);
        expect(anonymous.headers['content-type']).toBe('application/problem+json');
      } else expect(anonymous.status).not.toBe(401);
      const { allowed, wrong } = callers(route);
      const wrongRole = wrong === undefined ? undefined : await send(route, wrong);
      if (wrongRole) expect(wrongRole.status).toBe(403);
      // The anonymous call of a public route reached the function too: count what is expected.
      const calls = needsUser ? 1 : 2;
      const ok = await send(route, allowed);
      expect([401, 403]).not.toContain(ok.status);
      expect(ok.status, ok.body).toBeLessThan(500);
      // Exactly this function counted exactly these calls on this route template, and nothing else moved:
      // the refused calls never left the edge.
      // A declared response schema (the one the OpenAPI document publishes) holds for the real answer.
      const checkResponse = route.response !== undefined && ok.status < 300;
      if (checkResponse) {
        const validate = ajv.compile(JSON.parse(JSON.stringify(route.response)));
        expect(validate(ok.json()), ajv.errorsText(validate.errors)).toBe(true);
      }
      const key = `${route.fn} ${route.method} ${route.path}`;
      await expect
        .poll(async () => grown(before, await counted()), { timeout: 3_000 })
        .toEqual({ [key]: calls });
      outcomes.push({
        route: key,
        anonymous: anonymous.status,
        allowed: ok.status,
        ...(wrongRole ? { wrongRole: wrongRole.status } : {}),
        reached: true,
        responseChecked: checkResponse,
      });
    },
  );

  it('reached all 37 declared routes with the expected access results, and checked the declared answers', () => {
    expect(routes).toHaveLength(37);
    expect(outcomes.filter((o) => o.reached)).toHaveLength(routes.length);
    expect(outcomes.filter((o) => o.wrongRole === 403).length).toBe(
      routes.filter((r) => typeof r.access === 'object').length,
    );
    // Every route with a response schema that answered 2xx was checked (14 with today's data).
    expect(outcomes.filter((o) => o.responseChecked).length).toBeGreaterThanOrEqual(14);
  });
});

describe('the API description through the edge', () => {
  it('serves /openapi.json (the committed document) and the /docs page without a token', async () => {
    const doc = await edgeRequest(edge, 'api', { path: '/openapi.json' });
    expect(doc.status).toBe(200);
    expect(doc.headers['content-type']).toMatch(/^application\/json/);
    expect(doc.json()).toEqual(JSON.parse(await readFile(OPENAPI_FILE, 'utf8')));
    const page = await edgeRequest(edge, 'api', { path: '/docs' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('data-url="/openapi.json"');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = await edgeRequest(edge, 'api', { path: '/docs/scalar.js', method: 'HEAD' });
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toMatch(/javascript/);
  });

  it('keeps what no route declares off the edge: the functions’ own /metrics and /healthz are 404', async () => {
    for (const path of ['/metrics', '/healthz', '/readyz', '/library/me'])
      expect((await edgeRequest(edge, 'api', { path })).status, path).toBe(404);
  });
});
