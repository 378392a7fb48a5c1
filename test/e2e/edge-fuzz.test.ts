import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { header, type RawResponse, rawBatch, rawRequest } from '../support/raw-http.ts';
import { type EdgeStack, startEdgeStack } from './fixtures/edge-stack.ts';

/**
 * Issue 10 "Done when": ≥ 10,000 generated requests (paths, queries, headers, methods, versions, hosts)
 * through real nginx in front of the real functions (issue 18: no echo fixture) → 0 × 5xx and 0 HTML
 * bodies; every answer is JSON or problem+json, the edge's or a function's. `FUZZ_SEED` replays a run; a
 * failure prints the requests that broke it.
 */

const env = inject('env');
const RUNS = Number(process.env.FUZZ_RUNS ?? 10_000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

let stack: EdgeStack;

beforeAll(async () => {
  // Limits out of the way: the fuzz is about what each request gets, not about how many.
  const unlimited = { rate: 1_000_000, burst: 1_000_000 };
  stack = await startEdgeStack('edge-fuzz', env, {
    overrides: { limits: { perIp: unlimited, perToken: unlimited } },
  });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

const bytes = (b: Uint8Array) => Buffer.from(b);
const hex = (n: number) => n.toString(16).padStart(2, '0');

// --- pieces of a request target ---------------------------------------------------------------------
const word = fc.stringMatching(/^[A-Za-z0-9_~.-]{1,12}$/).map((s) => Buffer.from(s));
const percentByte = fc.integer({ min: 0, max: 255 }).map((b) => Buffer.from(`%${hex(b)}`));
const trickyEscape = fc
  .constantFrom(
    '%',
    '%z',
    '%zz',
    '%%',
    '%2e%2e',
    '%2f',
    '%5c',
    '%00',
    '%0d%0a',
    '%7f',
    '%c0%af',
    '%ff',
    '%u2215',
  )
  .map((s) => Buffer.from(s));
const dots = fc.constantFrom('.', '..', '...', '', '/').map((s) => Buffer.from(s));
const unicode = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }).map((s) => Buffer.from(s));
/** Raw bytes a client should not send unescaped (no CR / LF / space: they would end the request line). */
const rawBytes = fc
  .uint8Array({ minLength: 1, maxLength: 8, min: 0x21, max: 0xff })
  .map(bytes)
  .filter((b) => !b.includes(0x7f));
const piece = fc.oneof(
  { weight: 4, arbitrary: word },
  { weight: 2, arbitrary: percentByte },
  { weight: 2, arbitrary: trickyEscape },
  { weight: 1, arbitrary: dots },
  { weight: 2, arbitrary: unicode },
  { weight: 2, arbitrary: rawBytes },
);

const PREFIXES = [
  '',
  '/anime',
  '/anime/5114',
  '/anime/1/rating',
  '/anime/1/episodes/3/rating',
  '/anime/1/reviews',
  '/seasons/2024/spring',
  '/me/library/1',
  '/users/viewer1/library',
  '/seasons/2024/winter',
  '/me',
  '/me/library',
  '/subtitles',
  '/subtitles/abc/download',
  '/subtitles/abc/moderation',
  '/uploads',
  '/notifications',
  '/notifications/stream',
  '/_problem/400',
  '/_edge_auth',
  '/openapi.json',
];
const path = fc
  .tuple(fc.constantFrom(...PREFIXES), fc.array(piece, { maxLength: 4 }), fc.boolean())
  .map(([prefix, pieces, slash]) =>
    Buffer.concat([
      Buffer.from(prefix),
      ...pieces.flatMap((p) => [Buffer.from('/'), p]),
      Buffer.from(slash ? '/' : ''),
    ]),
  );

/** Values of credential-like parameters start with this: no response and no log line may contain it. */
const MARKER = 'SECRETMARK';
const CREDENTIAL_NAMES = [
  'access_token',
  'token',
  'id_token',
  'api_key',
  'Access_Token',
  'access%5Ftoken',
  'access_t%6Fken%zz',
  'code',
];
const queryPart = fc.oneof(word, percentByte, trickyEscape, unicode, rawBytes, fc.constant(Buffer.alloc(0)));
const queryName = fc.oneof(
  { weight: 2, arbitrary: queryPart },
  {
    weight: 1,
    arbitrary: fc.constantFrom('q', 'page', 'perPage', 'format', 'gzip', 'status').map((s) => Buffer.from(s)),
  },
);
const ordinaryPair = fc.tuple(queryName, fc.option(queryPart, { nil: undefined }));
const credentialPair = fc.tuple(
  fc.constantFrom(...CREDENTIAL_NAMES).map((s) => Buffer.from(s)),
  fc.stringMatching(/^[A-Za-z0-9._-]{8,40}$/).map((s) => Buffer.from(`${MARKER}${s}`)),
);
/** A bearer token (a JWT) under any name. */
const jwtPair = fc.tuple(
  queryName,
  fc
    .stringMatching(/^[A-Za-z0-9_-]{8,40}$/)
    .map((s) => Buffer.from(`eyJhbGciOiJSUzI1NiJ9.eyJ${MARKER}${s}.c2ln`)),
);
const queryPair = fc.oneof(
  { weight: 20, arbitrary: ordinaryPair },
  { weight: 2, arbitrary: credentialPair },
  { weight: 1, arbitrary: jwtPair },
);
const query = fc.option(
  fc
    .array(queryPair, { maxLength: 5 })
    .map((pairs) =>
      Buffer.concat([
        Buffer.from('?'),
        ...pairs.flatMap(([name, value], i) => [
          Buffer.from(i === 0 ? '' : '&'),
          name,
          ...(value === undefined ? [] : [Buffer.from('='), value]),
        ]),
      ]),
    ),
  { nil: undefined },
);

// --- headers -----------------------------------------------------------------------------------------
/**
 * Header values: mostly visible ASCII and obs-text, now and then any byte but CR, LF and NUL (those end
 * or break the header block: tested on their own).
 */
const headerValue = (maxLength: number) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.uint8Array({ maxLength, min: 0x20, max: 0xff }).map(bytes) },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ maxLength, min: 0x01, max: 0xff })
        .map((b) => bytes(b.filter((x) => x !== 0x0d && x !== 0x0a))),
    },
  );
const headerName = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9-]{1,20}$/).map((s) => Buffer.from(s)),
  fc.stringMatching(/^[A-Za-z0-9_.@()<>"{}\\[\]]{1,12}$/).map((s) => Buffer.from(s)),
);
const traceparent = fc
  .tuple(
    fc.stringMatching(/^[0-9a-f]{32}$/),
    fc.stringMatching(/^[0-9a-f]{16}$/),
    fc.constantFrom('00', '01', 'zz'),
  )
  .map(([t, s, f]) => `00-${t}-${s}-${f}`);
const ordinaryHeader: fc.Arbitrary<[Buffer, Buffer]> = fc.oneof(
  fc.tuple(
    fc.constant(Buffer.from('Authorization')),
    fc.oneof(
      word.map((w) => Buffer.concat([Buffer.from('Bearer '), w])),
      headerValue(60),
      fc.constant(Buffer.from('Basic dXNlcjpwYXNz')),
    ),
  ),
  fc.tuple(
    fc.constant(Buffer.from('traceparent')),
    fc.oneof(
      traceparent.map((s) => Buffer.from(s)),
      headerValue(60),
    ),
  ),
  fc.tuple(
    fc
      .constantFrom(
        'Cookie',
        'X-Auth-User-Id',
        'X-Auth-Roles',
        'X-Original-URI',
        'Origin',
        'Referer',
        'User-Agent',
        'Accept',
        'Accept-Language',
        'If-None-Match',
        'Range',
        'Last-Event-ID',
        'Content-Type',
        'X-Forwarded-For',
      )
      .map((s) => Buffer.from(s)),
    headerValue(80),
  ),
  fc.tuple(
    fc.constant(Buffer.from('Accept-Encoding')),
    fc.constantFrom('gzip', 'br', 'identity', '*').map((s) => Buffer.from(s)),
  ),
  fc.tuple(fc.constant(Buffer.from('Expect')), fc.constant(Buffer.from('100-continue'))),
  fc.tuple(headerName, headerValue(120)),
);
const oneHeader = fc.oneof(
  { weight: 30, arbitrary: ordinaryHeader },
  // Now and then one far past the edge's 8 KiB header buffers (→ 431).
  {
    weight: 1,
    arbitrary: fc.tuple(
      headerName,
      fc.integer({ min: 8_000, max: 24_000 }).map((n) => Buffer.alloc(n, 0x61)),
    ),
  },
);

// --- the request line ----------------------------------------------------------------------------------
const method = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.constantFrom('GET', 'GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'),
  },
  { weight: 1, arbitrary: fc.constantFrom('TRACE', 'CONNECT', 'PROPFIND', 'get', 'G@T', 'M-SEARCH') },
);
const version = fc.oneof(
  { weight: 12, arbitrary: fc.constant('HTTP/1.1') },
  {
    weight: 1,
    arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/1.2', 'HTTP/0.9', 'HTTX/1.1', 'HTTP/1.10'),
  },
);
const host = fc.oneof(
  { weight: 10, arbitrary: fc.constant<string | undefined>('api.isekai.localhost') },
  { weight: 2, arbitrary: fc.constant<string | undefined>('events.isekai.localhost') },
  {
    weight: 1,
    arbitrary: fc.constantFrom<string | undefined>(
      'isekai.localhost',
      'nobody.example',
      'api.isekai.localhost:1',
      '',
      '[::1',
      undefined,
    ),
  },
);

const anyRequest = fc.record({
  method,
  target: fc.tuple(path, query).map(([p, q]) => (q ? Buffer.concat([p, q]) : p)),
  version,
  host,
  headers: fc.array(oneHeader, { maxLength: 4 }),
  body: fc.option(fc.uint8Array({ maxLength: 2_000 }).map(bytes), { nil: undefined, freq: 3 }),
});
/** A declared read with a generated query: what the edge passes on, so the real functions judge the query. */
const readRequest = fc.record({
  method: fc.constantFrom('GET', 'HEAD'),
  target: fc
    .tuple(
      fc.constantFrom('/anime', '/anime/5114', '/seasons/2024/winter', '/subtitles', '/anime/1/reviews'),
      query,
    )
    .map(([p, q]) => (q ? Buffer.concat([Buffer.from(p), q]) : Buffer.from(p))),
  version: fc.constant('HTTP/1.1'),
  host: fc.constant<string | undefined>('api.isekai.localhost'),
  headers: fc.array(oneHeader, { maxLength: 2 }),
  body: fc.constant<Buffer | undefined>(undefined),
});
const request = fc.oneof({ weight: 4, arbitrary: anyRequest }, { weight: 1, arbitrary: readRequest });
type FuzzRequest = typeof request extends fc.Arbitrary<infer T> ? T : never;

function encode(r: FuzzRequest): Buffer {
  return rawRequest({
    method: r.method,
    target: r.target,
    version: r.version,
    ...(r.host === undefined ? {} : { host: r.host }),
    headers: r.headers,
    ...(r.body === undefined ? {} : { body: r.body }),
  });
}

/** What is wrong with an answer, if anything. */
function fault(res: RawResponse | Error): string | undefined {
  if (res instanceof Error) return `no answer: ${res.message}`;
  if (res.status >= 500) return `status ${res.status}`;
  if (res.status < 100) return 'not an HTTP response';
  const type = header(res, 'content-type') ?? '';
  const text = (
    header(res, 'content-encoding') === 'gzip' && res.body.length > 0 ? gunzipSync(res.body) : res.body
  ).toString('utf8');
  if (/html/i.test(type) || /^\s*</.test(text)) return `HTML (${type})`;
  if (text.includes(MARKER)) return 'a credential echoed';
  if (res.body.length === 0) return undefined; // HEAD, 204 preflights
  const mediaType = type.replace(/; charset=utf-8$/, '');
  if (mediaType !== 'application/json' && mediaType !== 'application/problem+json')
    return `content type "${type}"`;
  try {
    const body = JSON.parse(text) as { type?: string; status?: number };
    if (mediaType === 'application/problem+json' && !body.type?.startsWith('https://isekai.dev/problems/'))
      return `problem without an Isekai type: ${text.slice(0, 200)}`;
    if (mediaType === 'application/problem+json' && body.status !== res.status)
      return `status ${res.status} with a problem saying ${body.status}`;
  } catch {
    return `not JSON: ${text.slice(0, 200)}`;
  }
  return undefined;
}

describe('edge fuzzing', () => {
  it(`${RUNS} generated requests through real nginx: 0 × 5xx, 0 HTML, every answer JSON or problem+json`, async () => {
    const generating = performance.now();
    const requests = fc.sample(request, { numRuns: RUNS, seed: SEED });
    const encoded = requests.map((r) => ({ bytes: encode(r), head: r.method === 'HEAD' }));
    process.stdout.write(`[edge-fuzz] generated in ${Math.round(performance.now() - generating)} ms\n`);
    const statuses = new Map<number, number>();
    /** `<status> <problem code>` (or `fn`: a function's non-problem answer) → count, for the summary. */
    const answers = new Map<string, number>();
    const faults: { fault: string; request: string }[] = [];
    const count = <K>(map: Map<K, number>, key: K) => map.set(key, (map.get(key) ?? 0) + 1);
    const reachedBefore = await stack.hits();
    const started = performance.now();
    const target = { ...stack.tls(), tls12: true };
    await rawBatch(target, encoded, Number(process.env.FUZZ_CONCURRENCY ?? 8), (index, res) => {
      if (!(res instanceof Error)) {
        count(statuses, res.status);
        const problem = header(res, 'content-type')?.startsWith('application/problem+json') ?? false;
        count(
          answers,
          `${res.status} ${problem ? (/"code":"(\w+)"/.exec(res.body.toString())?.[1] ?? '-') : 'fn'}`,
        );
      }
      const wrong = fault(res);
      const sent = encoded[index]?.bytes ?? Buffer.alloc(0);
      if (wrong)
        faults.push({ fault: wrong, request: JSON.stringify(sent.subarray(0, 300).toString('latin1')) });
    });
    const seconds = (performance.now() - started) / 1000;
    // The functions' own counters: how many generated requests got past the edge to a real function.
    const reached = (await stack.hits()) - reachedBefore;
    const summary = [...answers.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([s, n]) => `${s}×${n}`)
      .join(', ');
    process.stdout.write(
      `[edge-fuzz] seed ${SEED}: ${RUNS} requests in ${seconds.toFixed(1)} s; ${reached} reached a function; faults ${faults.length}; answers ${summary}\n`,
    );
    // Not only the edge's refusals: a share of the requests was judged by the real functions.
    expect(reached).toBeGreaterThanOrEqual(Math.floor(RUNS / 20));
    expect(faults.slice(0, 10), `seed ${SEED} (FUZZ_SEED=${SEED} replays it)`).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(RUNS);
    expect([...statuses.keys()].filter((s) => s >= 500)).toEqual([]);
    const logs = await Promise.all(
      ['access.log', 'error.log'].map((f) => readFile(join(stack.edge.prefix, 'logs', f), 'utf8')),
    );
    const leaks = logs.flatMap((text) => text.split('\n').filter((l) => l.includes(MARKER)));
    expect(leaks.slice(0, 5)).toEqual([]);
  }, 300_000);
});
