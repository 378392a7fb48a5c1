import { readFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { OPENAPI_FILE } from '../../api/render.ts';
import { type DeclaredRoute, declaredRoutes } from '../../api/routes.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { type EdgeResponse, edgeRequest, startTestEdge, type TestEdge } from '../../scripts/servers/nginx.ts';
import { clientCredentialsToken, DEV_USERS, passwordToken } from '../setup/keycloak-client.ts';
import { type RealFunctions, startRealFunctions } from '../support/real-functions.ts';

/**
 * Issue 10 / 18: the real system behind the edge. Every HTTP function runs on the lean host with the
 * production wiring (`<fn>FromEnv`, what each index.ts registers; tokens verified against the real
 * Keycloak's JWKS), behind real nginx rendered from the route table. One request per declared route
 * and caller goes through the edge; each function's own `http_requests_total` says which function and
 * which route template answered.
 */

const env = inject('env');
const routes = declaredRoutes();
const tokens: Record<string, string> = {};
let edge: TestEdge;
let functions: RealFunctions;

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
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: '',
          raw: Buffer.alloc(0),
          json: () => ({}) as never,
        });
        res.destroy();
      },
    );
    req.on('error', reject);
    req.end();
  });
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
    role === 'integrator'
      ? tokens.integrator
      : role === 'uploader'
        ? tokens.uploader
        : role === 'admin'
          ? tokens.admin
          : tokens.moderator;
  return { allowed: allowed ?? '', wrong: tokens.viewer ?? '' };
}

beforeAll(async () => {
  functions = await startRealFunctions(env, 'routes');
  const [viewer, uploader, moderator, integrator, admin] = await Promise.all([
    passwordToken(env, 'viewer1', DEV_USERS.viewer1.password),
    passwordToken(env, 'uploader1', DEV_USERS.uploader1.password),
    passwordToken(env, 'moderator1', DEV_USERS.moderator1.password),
    clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID ?? '',
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET ?? '',
    ),
    passwordToken(env, 'admin1', DEV_USERS.admin1.password),
  ]);
  tokens.viewer = viewer.access_token;
  tokens.uploader = uploader.access_token;
  tokens.moderator = moderator.access_token;
  tokens.integrator = integrator.access_token;
  tokens.admin = admin.access_token;

  edge = await startTestEdge('routes', {
    functions: functions.ports,
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
  await functions?.stop();
});

describe('every declared route, through real nginx to the real function', () => {
  it.each(routes.map((r) => [`${r.host} ${r.method} ${r.path} (${r.fn})`, r] as const))(
    '%s',
    async (_name, route) => {
      const needsUser = route.access === 'user' || typeof route.access === 'object';
      const before = await functions.served();
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
        .poll(async () => grown(before, await functions.served()), { timeout: 3_000 })
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

  it('reached all 62 declared routes with the expected access results, and checked the declared answers', () => {
    expect(routes).toHaveLength(62);
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

describe('group links through the edge: only http(s) URLs (a `javascript:` link would run in readers’ pages)', () => {
  const run = `${process.pid}-${Date.now().toString(36)}`;
  // A token of its own: the sweep above may have used most of the first one's 5 minutes.
  let viewer = '';
  beforeAll(async () => {
    viewer = (await passwordToken(env, 'viewer1', DEV_USERS.viewer1.password)).access_token;
  });
  const asViewer = (method: string, path: string, body?: unknown) =>
    edgeRequest(edge, 'api', {
      method,
      path,
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      headers: {
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        authorization: `Bearer ${viewer}`,
      },
    });
  const IRC = { label: 'IRC', url: 'https://irc.example.org/moonlight' };
  const refusal = (res: EdgeResponse) => {
    expect(res.status, res.body).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    return res.json<{ code: string; errors: { field: string; message: string }[] }>();
  };
  const schemes: [string, string][] = [
    ['javascript:', 'javascript:alert(document.cookie)'],
    ['JavaScript: in mixed case', 'JavaScript:alert(1)'],
    ['data:', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=='],
    ['vbscript:', 'vbscript:msgbox(1)'],
  ];
  expect(schemes, 'refused schemes').toHaveLength(4);

  it.each(schemes)(
    '%s: creating or editing a group with it is 400 problem+json naming /body/links/1/url; nothing is stored',
    async (name, url) => {
      const slug = `links-${run}-${schemes.findIndex(([n]) => n === name)}`;
      const links = [IRC, { label: 'Site', url }];
      const created = refusal(await asViewer('POST', '/groups', { name: 'Links', slug, links }));
      expect(created).toMatchObject({
        code: 'validation_failed',
        errors: [{ field: '/body/links/1/url', message: 'must match pattern "^https?://"' }],
      });
      expect((await asViewer('GET', `/groups/${slug}`)).status).toBe(404);
      const made = await asViewer('POST', '/groups', { name: 'Links', slug, links: [IRC] });
      expect(made.status, made.body).toBe(201);
      const edited = refusal(await asViewer('PATCH', `/groups/${slug}`, { links }));
      expect(edited.errors).toEqual([
        { field: '/body/links/1/url', message: 'must match pattern "^https?://"' },
      ]);
      expect((await asViewer('GET', `/groups/${slug}`)).json()).toMatchObject({ links: [IRC] });
    },
  );

  it('a link stored before the rule (straight in the table) is never served', async () => {
    const slug = `links-${run}-stored`;
    expect((await asViewer('POST', '/groups', { name: 'Stored', slug, links: [IRC] })).status).toBe(201);
    const db = new pg.Client({ connectionString: functions.databaseUrl });
    await db.connect();
    try {
      const stored = [IRC, ...schemes.map(([name, url]) => ({ label: name, url }))];
      const updated = await db.query('update fansub_groups set links = $2::jsonb where slug = $1', [
        slug,
        JSON.stringify(stored),
      ]);
      expect(updated.rowCount).toBe(1);
    } finally {
      await db.end();
    }
    const page = await asViewer('GET', `/groups/${slug}`);
    expect(page.status).toBe(200);
    expect(page.json()).toMatchObject({ links: [IRC] });
  });
});

/** A request through the edge with a dev user's token (`undefined`: anonymous). */
function call(
  method: string,
  path: string,
  who: 'viewer' | 'uploader' | 'moderator' | 'integrator' | undefined,
  body?: unknown,
  sub: 'api' | 'events' = 'api',
): Promise<EdgeResponse> {
  const auth: Record<string, string> = who ? { authorization: `Bearer ${tokens[who]}` } : {};
  return edgeRequest(edge, sub, {
    method,
    path,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

const UUID = '5f0c1b7e-8c55-4f4b-9f4e-2b8a9a4d6c10';

describe('path parameters are checked like bodies: a malformed one is 400 naming it, a well-formed unknown one 404', () => {
  it.each([
    ['GET', '/anime/abc', undefined, undefined, '/path/id'],
    ['GET', '/anime/0', undefined, undefined, '/path/id'],
    ['GET', '/anime/007', undefined, undefined, '/path/id'],
    ['GET', '/anime/2147483648', undefined, undefined, '/path/id'],
    ['GET', '/seasons/2024/autumn', undefined, undefined, '/path/season'],
    ['GET', '/seasons/1800/winter', undefined, undefined, '/path/year'],
    ['GET', '/anime/abc/reviews', undefined, undefined, '/path/id'],
    ['PUT', '/anime/1/episodes/0/rating', 'viewer', { score: 8 }, '/path/episode'],
    ['GET', '/me/library/abc', 'viewer', undefined, '/path/animeId'],
    ['GET', '/me/backups/2026-02-30', 'viewer', undefined, '/path/date'],
    ['GET', '/subtitles/not-an-id', undefined, undefined, '/path/id'],
    ['POST', '/notifications/not-an-id/read', 'viewer', undefined, '/path/id'],
    ['GET', '/groups/Not_A_Slug', undefined, undefined, '/path/slug'],
    ['DELETE', '/groups/x/invitations/not-a-uuid', 'viewer', undefined, '/path/id'],
    ['PUT', `/groups/x/projects/${UUID}/episodes/0`, 'viewer', { stage: 'translation' }, '/path/episode'],
    ['PUT', `/groups/x/projects/${UUID}/episodes/10001`, 'viewer', { stage: 'translation' }, '/path/episode'],
  ] as const)('%s %s → 400 naming the parameter', async (method, path, who, body, field) => {
    const res = await call(method, path, who, body);
    expect(res.status, res.body).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const problem = res.json<{ code: string; detail: string; errors: { field: string }[] }>();
    expect(problem.code).toBe('validation_failed');
    expect(problem.errors.map((e) => e.field)).toEqual([field]);
    expect(problem.detail).toContain(field);
  });

  it('an enumeration names its allowed values; a well-formed id of nothing is still 404', async () => {
    const season = (await call('GET', '/seasons/2024/autumn', undefined)).json<{
      errors: { allowed?: unknown[] }[];
    }>();
    expect(season.errors[0]?.allowed).toEqual(['winter', 'spring', 'summer', 'fall']);
    expect((await call('GET', '/anime/999999', undefined)).status).toBe(404);
    expect((await call('GET', '/subtitles/0123456789abcdef01234567', undefined)).status).toBe(404);
    expect((await call('GET', '/anime/1', undefined)).status).toBe(200);
  });
});

/** A multipart upload body of one subtitle file (the fields `POST /uploads` needs). */
function uploadForm(fileName: string, text: string): { body: string; type: string } {
  const b = `----isekai${Date.now()}`;
  const field = (name: string, value: string) =>
    `--${b}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  const body = `${field('animeId', '1')}${field('episode', '1')}${field('language', 'en')}--${b}\r\nContent-Disposition: form-data; name="file"; filename="${fileName}"\r\nContent-Type: application/octet-stream\r\n\r\n${text}\r\n--${b}--\r\n`;
  return { body, type: `multipart/form-data; boundary=${b}` };
}

describe('a subtitle in a known format whose content is broken is 422 naming the line, not 415', () => {
  it.each([
    ['SRT, an arrow mistyped', 'broken.srt', '1\n00:00:01,000 -> 00:00:02,000\nHello\n', 'line 2'],
    ['SRT, a time that is not one', 'broken.srt', '1\n00:00:01,000 --> 00:00:0x,000\nHello\n', 'line 2'],
    ['WebVTT', 'broken.vtt', 'WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nHello\n', 'line 3'],
    [
      'ASS',
      'broken.ass',
      '[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:0x.00,0:00:02.00,Default,,0,0,0,,Hello\n',
      'line 6',
    ],
  ])('%s', async (_name, fileName, text, line) => {
    const { body, type } = uploadForm(fileName, text);
    const res = await edgeRequest(edge, 'api', {
      method: 'POST',
      path: '/uploads',
      headers: { authorization: `Bearer ${tokens.uploader}`, 'content-type': type },
      body,
    });
    expect(res.status, res.body).toBe(422);
    const problem = res.json<{ code: string; detail: string; errors: { field: string }[] }>();
    expect(problem.code).toBe('unprocessable');
    expect(problem.errors.map((e) => e.field)).toEqual(['/body/file']);
    expect(problem.detail).toContain(line);
  });

  it('a file in no subtitle format at all is still 415', async () => {
    const { body, type } = uploadForm('notes.txt', 'just some words\nand more words\n');
    const res = await edgeRequest(edge, 'api', {
      method: 'POST',
      path: '/uploads',
      headers: { authorization: `Bearer ${tokens.uploader}`, 'content-type': type },
      body,
    });
    expect(res.status, res.body).toBe(415);
  });
});

describe('every problem answer has one exact Content-Type, application/problem+json (RFC 9457 §6.1), whoever made it', () => {
  it.each([
    ['a function (catalog, a bad parameter)', () => call('GET', '/anime/abc', undefined), 400],
    ['a function (catalog, nothing there)', () => call('GET', '/anime/999999', undefined), 404],
    [
      'a function (library, a bad body)',
      () => call('PUT', '/me/library/1', 'viewer', { status: 'nope' }),
      400,
    ],
    [
      'a function (integrator-ingress, not an event)',
      () => call('POST', '/', 'integrator', {}, 'events'),
      400,
    ],
    ['edge-auth’s verdict: no token', () => call('GET', '/me', undefined), 401],
    ['edge-auth’s verdict: a role missing', () => call('GET', '/subtitles/reports', 'viewer'), 403],
    ['nginx: no such route', () => call('GET', '/no-such-route', undefined), 404],
    ['nginx: a method the route does not take', () => call('DELETE', '/anime/1', undefined), 405],
  ] as const)('%s', async (_name, request, status) => {
    const res = await request();
    expect(res.status, res.body).toBe(status);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({
      status,
      type: expect.stringMatching(/^https:\/\/isekai\.dev\/problems\//),
    });
  });
});
