import { readFile } from 'node:fs/promises';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EdgeFunction } from '../../nginx/options.ts';
import { header, type RawResponse, type RawTarget, rawExchange, rawRequest } from '../support/raw-http.ts';
import { type EdgeStack, startEdgeStack } from './fixtures/edge-stack.ts';

/**
 * Issue 10 (errors, credentials, rate-limit headers) through real nginx in front of the real functions
 * (issue 18: no echo fixture): every answer the edge makes itself is problem+json with a stable `type`,
 * bad input is never a 5xx, raw UTF-8 reaches the function, credentials never come back in a response or
 * land in a log line. "The function was not reached" is read from the functions' own request counters.
 */

const env = inject('env');
const API = 'api.isekai.localhost';
const PROBLEMS = 'https://isekai.dev/problems/';

let stack: EdgeStack;
/** A token-shaped credential (its signature is not checked before the edge refuses what carries it). */
const viewerToken = `eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2aWV3ZXIxIn0.${'s'.repeat(43)}${Date.now()}`;

beforeAll(async () => {
  stack = await startEdgeStack('edge-errors', env);
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const get = (target: string | Buffer, headers: [string, string][] = [], host = API) =>
  rawRequest({ target, host, headers: [...headers, ['Connection', 'close']] });

function expectProblem(res: RawResponse, status: number, code: string) {
  // One exact value whoever answered, the edge or a function (RFC 9457 §6.1: no parameters).
  expect({ status: res.status, contentType: header(res, 'content-type') }).toEqual({
    status,
    contentType: 'application/problem+json',
  });
  const body = JSON.parse(res.body.toString()) as Record<string, unknown>;
  expect(body).toMatchObject({ type: `${PROBLEMS}${code}`, status, code });
  return body;
}

async function logLines(name: 'access.log' | 'error.log'): Promise<string[]> {
  const text = await readFile(join(stack.edge.prefix, 'logs', name), 'utf8');
  return text.split('\n').filter((l) => l !== '');
}

describe('errors nginx makes itself are problem+json with a stable type, never HTML or 500', () => {
  const long = (n: number) => 'a'.repeat(n);
  const cases: [string, () => Buffer, number, string, (() => RawTarget)?][] = [
    ['a NUL escape in the path (/anime/%00)', () => get('/anime/%00'), 400, 'validation_failed'],
    [
      'a path escaping the root (/anime/..%2f..%2fetc%2fpasswd)',
      () => get('/anime/..%2f..%2fetc%2fpasswd'),
      400,
      'validation_failed',
    ],
    ['a NUL escape on another route (/subtitles/%00)', () => get('/subtitles/%00'), 400, 'validation_failed'],
    [
      'a CR LF escape (header injection into the auth subrequest)',
      () => get('/anime/1%0d%0aX-A:%20b'),
      400,
      'validation_failed',
    ],
    [
      'an invalid method',
      () => rawRequest({ method: 'G@T', target: '/anime', host: API }),
      400,
      'validation_failed',
    ],
    ['no Host header', () => rawRequest({ target: '/anime' }), 400, 'validation_failed'],
    ['a 20 KB header', () => get('/anime', [['X-Big', long(20_000)]]), 431, 'header_too_large'],
    ['a 9 KB URI', () => get(`/anime/${long(9_000)}`), 414, 'uri_too_long'],
    [
      'HTTP/2.0 in an HTTP/1 request line',
      () => rawRequest({ target: '/anime', host: API, version: 'HTTP/2.0' }),
      400,
      'http_version_unsupported',
    ],
    [
      'an unknown Transfer-Encoding',
      () =>
        rawRequest({ method: 'POST', target: '/anime', host: API, headers: [['Transfer-Encoding', 'gzip']] }),
      400,
      'transfer_encoding_unsupported',
    ],
    ['TRACE', () => rawRequest({ method: 'TRACE', target: '/anime', host: API }), 405, 'method_not_allowed'],
    ['a raw # in the request target', () => get('/anime/1#/../x?q=1'), 400, 'validation_failed'],
    [
      'a control character in a header value (edge-auth would refuse it: was a 503)',
      () => get('/anime/1/rating', [['Authorization', 'Bearer a\x01b']]),
      400,
      'validation_failed',
    ],
    ['an unknown route', () => get('/no/such/route'), 404, 'not_found'],
    ['a problem page asked for directly', () => get('/_problem/400'), 404, 'not_found'],
    [
      'plain HTTP to the TLS port',
      () => get('/anime'),
      400,
      'https_required',
      () => ({ port: stack.edge.port }),
    ],
    [
      'plain HTTP to the TLS port, unknown host',
      () => get('/anime', [], 'nobody.example'),
      400,
      'https_required',
      () => ({ port: stack.edge.port }),
    ],
    [
      'a POST to the static site',
      () =>
        rawRequest({
          method: 'POST',
          target: '/?code=abc',
          host: 'isekai.localhost',
          body: Buffer.from('x'),
        }),
      405,
      'method_not_allowed',
      () => stack.tls(''),
    ],
    [
      'an unknown host on a TLS connection made for the API',
      () => get('/anime', [], 'nobody.example'),
      404,
      'not_found',
    ],
    [
      'a NUL escape on the site',
      () => get('/%00', [], 'isekai.localhost'),
      400,
      'validation_failed',
      () => stack.tls(''),
    ],
    [
      'a NUL escape on the events host',
      () => get('/%00', [], 'events.isekai.localhost'),
      400,
      'validation_failed',
      () => stack.tls('events'),
    ],
    [
      'a NUL escape on the plain HTTP port',
      () => get('/%00'),
      400,
      'validation_failed',
      () => ({ port: stack.edge.httpPort }),
    ],
  ];

  it.each(cases.map(([name, ...rest]) => [`${name} → ${rest[1]} ${rest[2]}`, ...rest] as const))(
    '%s',
    async (_name, request, status, code, target) => {
      const before = await stack.hits();
      const res = await rawExchange(target ? target() : stack.tls(), request());
      const body = expectProblem(res, status, code);
      expect(typeof body.title).toBe('string');
      expect(await stack.hits()).toBe(before);
    },
  );

  it('no request above sent nginx down the "empty URI in redirect" path (the old 500)', async () => {
    expect(
      (await logLines('error.log')).filter((l) => /empty URI|\[(error|crit|alert|emerg)\]/.test(l)),
    ).toEqual([]);
  });
});

describe('raw UTF-8 reaches the function, percent-encoded, and it decodes it', () => {
  it('GET /anime?q=進撃の巨人 (raw bytes, as a browser may send them) finds the anime by its native title', async () => {
    const res = await rawExchange(stack.tls(), get(Buffer.from('/anime?q=進撃の巨人')));
    expect(res.status).toBe(200);
    const titles = (
      JSON.parse(res.body.toString()) as { items: { titles: { native?: string } }[] }
    ).items.map((a) => a.titles.native);
    expect(titles).toContain('進撃の巨人');
  });

  it('a raw UTF-8 path segment is passed on percent-encoded too (the problem instance is what the function saw)', async () => {
    const res = await rawExchange(stack.tls(), get(Buffer.from('/anime/進撃')));
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(JSON.parse(res.body.toString()).instance).toBe(`/anime/${encodeURIComponent('進撃')}`);
  });

  it('a query that is not UTF-8 once decoded (q=%FF%FE) is a 400 problem from the function, not an empty 200', async () => {
    const before = await stack.hits();
    const res = await rawExchange(stack.tls(), get('/anime?q=%FF%FE'));
    const body = expectProblem(res, 400, 'validation_failed');
    expect(String(body.detail)).toContain('UTF-8');
    expect(await stack.hits()).toBe(before + 1);
  });
});

describe('methods are checked before auth, from the route table', () => {
  // [method, path, the Allow the edge and the function both send, the function serving the path]
  const refused: [string, string, string, EdgeFunction][] = [
    ['DELETE', '/anime/1', 'GET, HEAD', 'catalog'],
    ['POST', '/anime/1/rating', 'GET, HEAD, PUT, PATCH, DELETE', 'rate-anime'],
    ['GET', '/notifications/read-all', 'POST', 'notifications'],
    ['PATCH', '/me/library/1', 'GET, HEAD, PUT, DELETE', 'library'],
  ];
  it.each(refused)(
    'anonymous %s %s → 405 with Allow (as the function says), never 401, the function not reached',
    async (method, path, allow, fn) => {
      const before = await stack.hits();
      const res = await rawExchange(stack.tls(), rawRequest({ method, target: path, host: API }));
      expectProblem(res, 405, 'method_not_allowed');
      expect(header(res, 'allow')).toBe(allow);
      expect(await stack.hits()).toBe(before);
      // The function's own router, asked directly, allows exactly the same methods.
      const direct = await fetch(`http://127.0.0.1:${stack.functions.ports[fn]}${path}`, { method });
      expect({ status: direct.status, allow: direct.headers.get('allow') }).toEqual({ status: 405, allow });
    },
  );

  it('checks 4 refused methods (the table cannot shrink silently); a declared method without a token is still 401', async () => {
    expect(refused).toHaveLength(4);
    const res = await rawExchange(
      stack.tls(),
      rawRequest({ method: 'DELETE', target: '/anime/1/rating', host: API }),
    );
    expectProblem(res, 401, 'unauthenticated');
    expect(header(res, 'allow')).toBeUndefined();
  });
});

describe('credentials never come back in a response nor land in a log line', () => {
  const secret = `SECRET${Date.now()}`;
  const refused: [string, string, string][] = [
    ['?access_token= on the stream', '/notifications/stream', `access_token=${secret}`],
    ['?access_token= next to other parameters', '/anime', `q=x&access_token=${secret}&page=2`],
    ['an escaped name (access%5Ftoken)', '/anime', `access%5Ftoken=${secret}`],
    ['an escaped name with a bad escape too (access_t%6Fken%zz)', '/anime', `access_t%6Fken%zz=${secret}`],
    ['?token= on the events host', '/', `token=${secret}`],
    ['a JWT under any name', '/anime', `q=${viewerToken}`],
  ];

  it.each(refused)(
    '%s → 400 at the edge, the token not echoed, the function not reached',
    async (_n, path, query) => {
      const before = await stack.hits();
      const host = path === '/' ? 'events.isekai.localhost' : API;
      const res = await rawExchange(
        stack.tls(host.split('.')[0]),
        get(`${path}?${query}`, [['Authorization', `Bearer ${viewerToken}`]], host),
      );
      const body = expectProblem(res, 400, 'validation_failed');
      expect(body.instance).toBe(path);
      expect(String(body.detail)).toContain('Authorization header');
      expect(res.body.toString()).not.toContain(secret);
      expect(res.body.toString()).not.toContain(viewerToken.slice(0, 40));
      expect(await stack.hits()).toBe(before);
    },
  );

  it('the access log has the request with the value redacted, and no log line has the token', async () => {
    const access = await logLines('access.log');
    const line = access.find((l) => l.includes('/notifications/stream?access_token='));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      uri: '/notifications/stream?access_token=REDACTED',
      status: 400,
    });
    const errors = await logLines('error.log');
    expect(
      [...access, ...errors].filter((l) => l.includes(secret) || l.includes(viewerToken.slice(0, 40))),
    ).toEqual([]);
  });

  it('a credential after a second `?` inside another value is redacted in the access log too (fuzz seed 742172697)', async () => {
    const hidden = `${secret}-in-value`;
    await rawExchange(stack.tls(), get(`/anime?q=x?Access_Token=${hidden}`));
    const access = await logLines('access.log');
    const line = access.find((l) => l.includes('/anime?q=x?'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({ uri: '/anime?q=x?Access_Token=REDACTED' });
    expect(access.filter((l) => l.includes(hidden))).toEqual([]);
  });

  it('a problem instance is the path only: a 401 never echoes the query', async () => {
    const res = await rawExchange(stack.tls(), get('/notifications?unread=true&x=y'));
    expect(expectProblem(res, 401, 'unauthenticated').instance).toBe('/notifications');
  });
});

describe('over HTTP/2 (what browsers and curl use by default) too', () => {
  /** One HTTP/2 request to the API host; the status, content type and body. */
  function h2(method: string, path: string, body?: Buffer) {
    return new Promise<{ status: number; contentType: string; body: string }>((resolve, reject) => {
      const session = connect(`https://${API}:${stack.edge.port}`, {
        ca: stack.edge.ca,
        servername: API,
        host: '127.0.0.1',
      });
      session.on('error', reject);
      const req = session.request({
        ':method': method,
        ':path': path,
        'content-type': 'application/json',
        ...(body ? { 'content-length': String(body.length) } : {}),
      });
      let status = 0;
      let contentType = '';
      const chunks: Buffer[] = [];
      req.on('response', (headers) => {
        status = Number(headers[':status']);
        contentType = String(headers['content-type'] ?? '');
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        session.close();
        resolve({ status, contentType, body: Buffer.concat(chunks).toString() });
      });
      req.on('error', (e) => {
        session.close();
        reject(e);
      });
      req.end(body);
    });
  }

  it("a body over the route limit gets the 413 problem, not nginx's HTML page", async () => {
    const res = await h2('PATCH', '/me', Buffer.alloc(200_000, 97));
    expect({ status: res.status, contentType: res.contentType }).toEqual({
      status: 413,
      contentType: 'application/problem+json',
    });
    expect(JSON.parse(res.body)).toMatchObject({ code: 'payload_too_large', status: 413 });
  });
});

describe('edge-auth judges the path nginx routed (fuzz findings)', () => {
  // Each first request is anonymous on a user-only route; edge-auth used to resolve `\..\` or a
  // double-encoded `..` again, judge `/anime` (anonymous), and nginx cached that 200 under the user-only
  // rule: the plain request after it then passed the edge without a token. nginx only routes declared
  // paths (api/routes.ts), so the tricks sit inside one declared parameter segment (`/me/library/:animeId`).
  const tricks: [string, string][] = [
    ['backslash dot segments', '/me/library/x\\..\\..\\..\\anime'],
    ['double-encoded dot segments', '/me/library/%252e%252e'],
  ];
  it.each(tricks)('%s: 401, and the plain request after it is 401 too', async (_name, path) => {
    const before = await stack.hits();
    expectProblem(
      await rawExchange(stack.tls(), get(path, [['User-Agent', 'poison']])),
      401,
      'unauthenticated',
    );
    expectProblem(await rawExchange(stack.tls(), get('/me/library/1')), 401, 'unauthenticated');
    expect(await stack.hits()).toBe(before);
  });

  it('a path edge-auth could not parse as a URL (/\\/) is a problem, not a 503', async () => {
    // nginx declares only `POST /` on the events host: `/\/` is its 404, before auth (edge-auth no longer
    // parses paths as URLs at all, so a declared route with such a segment is judged, not a 503).
    const res = await rawExchange(
      stack.tls('events'),
      rawRequest({
        method: 'PUT',
        target: '/%5c/',
        host: 'events.isekai.localhost',
        body: Buffer.from('{}'),
      }),
    );
    expectProblem(res, 404, 'not_found');
    const judged = await rawExchange(
      stack.tls(),
      rawRequest({
        method: 'PUT',
        target: '/me/library/%5c',
        host: 'api.isekai.localhost',
        body: Buffer.from('{}'),
      }),
    );
    expectProblem(judged, 401, 'unauthenticated');
  });
});

describe('headers', () => {
  it('a header the edge owns is sent once, even when the function sets it too (reviews set nosniff)', async () => {
    const res = await rawExchange(stack.tls(), get('/anime/1/reviews'));
    expect(res.status).toBe(200);
    expect(res.headers['x-content-type-options']).toEqual(['nosniff']);
  });

  it('API answers carry RateLimit-Policy: per address, and per token when one is sent', async () => {
    const { perIp, perToken } = stack.edge.options.limits;
    const ip = `"per-ip";q=${perIp.rate};w=1;isekai-burst=${perIp.burst}`;
    const anonymous = await rawExchange(stack.tls(), get('/anime'));
    expect(anonymous.status).toBe(200);
    expect(header(anonymous, 'ratelimit-policy')).toBe(ip);
    // On every answer, the edge's own ones included (this token does not verify: 401).
    const withToken = await rawExchange(
      stack.tls(),
      get('/anime', [['Authorization', `Bearer ${viewerToken}`]]),
    );
    expectProblem(withToken, 401, 'unauthenticated');
    expect(header(withToken, 'ratelimit-policy')).toBe(
      `${ip}, "per-token";q=${perToken.rate};w=1;isekai-burst=${perToken.burst}`,
    );
    expect(header(withToken, 'ratelimit')).toBeUndefined();
  });

  it('a header the api server does not pass on (nginx/locations.ts FORWARDED_HEADERS) never reaches a function: a control character in it is no refusal', async () => {
    const before = await stack.hits();
    const res = await rawExchange(
      stack.tls(),
      get('/anime/1', [
        ['X-Other', 'a\x01b'],
        ['Cookie', 'c=\x7f'],
      ]),
    );
    expect(res.status).toBe(200);
    expect(await stack.hits()).toBe(before + 1);
    // A passed-on one still is (edge.js `refusal`'s rule, decided in maps).
    expectProblem(
      await rawExchange(stack.tls(), get('/anime/1', [['Accept', 'a\x1fb']])),
      400,
      'validation_failed',
    );
  });
});

describe('limits and dependencies (edges of their own)', () => {
  it('429 is problem+json with Retry-After and RateLimit (r=0) once the burst is spent', async () => {
    const limited = await startEdgeStack('edge-errors-limits', env, {
      overrides: { limits: { perIp: { rate: 1, burst: 3 }, perToken: { rate: 1, burst: 3 } } },
    });
    try {
      const answers: RawResponse[] = [];
      for (let i = 0; i < 6; i++) answers.push(await rawExchange(limited.tls(), get('/anime')));
      expect(answers.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
      const first = answers.find((r) => r.status === 429);
      if (!first) throw new Error(`no 429 in ${answers.map((r) => r.status)}`);
      expectProblem(first, 429, 'rate_limited');
      expect(header(first, 'retry-after')).toBe('1');
      expect(header(first, 'ratelimit')).toBe('"per-ip";r=0;t=1');
      expect(header(first, 'ratelimit-policy')).toBe('"per-ip";q=1;w=1;isekai-burst=3');
    } finally {
      await limited.stop();
    }
  });

  it('a function down → 502, edge-auth down → 503: problem+json with Retry-After', async () => {
    const broken = await startEdgeStack('edge-errors-down', env, { down: ['catalog'] });
    const noAuth = await startEdgeStack('edge-errors-noauth', env, { down: ['edge-auth'] });
    try {
      const down = await rawExchange(broken.tls(), get('/anime'));
      expectProblem(down, 502, 'dependency_unavailable');
      expect(header(down, 'retry-after')).toBe('5');
      // A request edge-auth has to judge (a route that needs a user) cannot be answered without it.
      const authDown = await rawExchange(noAuth.tls(), get('/me'));
      expectProblem(authDown, 503, 'dependency_unavailable');
      expect(header(authDown, 'retry-after')).toBe('5');
      // An anonymous read of a public route never asks edge-auth (nginx/locations.ts authLocation: its
      // answer would be 200 with no identity), so it is served while edge-auth is down.
      expect((await rawExchange(noAuth.tls(), get('/anime'))).status).toBe(200);
    } finally {
      await broken.stop();
      await noAuth.stop();
    }
  });
});
