import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { libraryFromEnv } from '../../functions/library/library.ts';
import { rateAnimeFromEnv } from '../../functions/rate-anime/rate-anime.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { animeIdByMal, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

/** Property-based: generated garbage at every endpoint of catalog, library and rate-anime never gets a 5xx. */
const env = inject('env');
const base: Record<string, string> = {};
const closers: (() => Promise<void>)[] = [];
let tokens: KeycloakTokens;
let token = '';
let monster = 0;
const seen = new Set<number>();

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'catalog-fuzz');
  token = await tokens.sign('fuzz-user');
  monster = await animeIdByMal(env.DATABASE_URL as string, 43); // only this file writes to it
  const settings = trackingEnv(env, 'fuzz');
  for (const [name, make] of [
    ['catalog', catalogFromEnv],
    ['rate-anime', rateAnimeFromEnv],
    ['library', libraryFromEnv],
  ] as const) {
    const served = await serveOnHost(`${name}-fuzz`, make(settings));
    base[name] = served.url;
    closers.push(served.close);
  }
});
afterAll(async () => {
  for (const close of closers) await close();
  await tokens?.close();
});

const ROUTES: [fn: string, method: string, template: string][] = [
  ['catalog', 'GET', '/anime'],
  ['catalog', 'GET', '/anime/{a}'],
  ['catalog', 'GET', '/seasons/{b}/{c}'],
  ['rate-anime', 'GET', '/anime/{a}/rating'],
  ['rate-anime', 'PUT', '/anime/{a}/rating'],
  ['rate-anime', 'DELETE', '/anime/{a}/rating'],
  ['rate-anime', 'PUT', '/anime/{a}/episodes/{b}/rating'],
  ['rate-anime', 'DELETE', '/anime/{a}/episodes/{b}/rating'],
  ['rate-anime', 'GET', '/anime/{a}/episodes/ratings'],
  ['rate-anime', 'GET', '/anime/{a}/reviews'],
  ['library', 'GET', '/me/library'],
  ['library', 'GET', '/users/{c}/library'],
  ['library', 'GET', '/me/library/{a}'],
  ['library', 'PUT', '/me/library/{a}'],
  ['library', 'DELETE', '/me/library/{a}'],
  ['library', 'GET', '/me/library/{a}/history'],
  ['library', 'POST', '/me/library/{a}/history'],
  ['library', 'GET', '/me/library/export'],
  ['library', 'POST', '/me/library/import'],
  ['library', 'GET', '/me'],
  ['library', 'PATCH', '/me'],
];

const segment = fc.oneof(
  fc.constantFrom(
    '1',
    '2',
    '26',
    '0',
    '-1',
    '2147483648',
    '99999999999999999999',
    '1e3',
    '0x10',
    'fuzz-user',
    '..',
  ),
  fc.integer({ min: -5, max: 300 }).map(String),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
/** Anime ids: this file's own anime, unknown ones, and junk (never another file's anime). */
const animeSegment = fc.oneof(
  fc.constantFrom('0', '-1', '2147483648', '99999999999999999999', '1e3', '0x10', '..', '999999'),
  fc.integer({ min: 100_000, max: 2_000_000 }).map(String),
  fc.string({ unit: 'binary', maxLength: 20 }).filter((s) => !/^\d+$/.test(s)),
);
const scalar = fc.oneof(
  fc.integer({ min: -100, max: 20_000 }),
  fc.double(),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.boolean(),
  fc.constant(null),
  fc.constantFrom(
    '2024-02-30',
    '0000-00-00',
    '2024-01-01',
    'watching',
    'rewatching',
    'completed',
    'fall',
    'en',
  ),
);
const FIELDS = [
  'score',
  'aspects',
  'review',
  'status',
  'progress',
  'rewatchCount',
  'startedOn',
  'finishedOn',
  'notes',
  'tags',
  'priority',
  'private',
  'favourite',
  'episode',
  'watchedAt',
  'displayName',
  'preferredSubtitleLanguages',
  'weeklyBackup',
  'music',
  'x',
];
const shapedBody = fc.dictionary(
  fc.constantFrom(...FIELDS),
  fc.oneof(
    scalar,
    fc.array(scalar, { maxLength: 3 }),
    fc.dictionary(fc.constantFrom('animation', 'music', 'plot', 'y'), scalar),
  ),
);
const body = fc.oneof(
  shapedBody.map((b) => JSON.stringify(b)),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom(
    '',
    '{',
    '<myanimelist><anime><series_animedb_id>19</series_animedb_id><my_status>6</my_status></anime></myanimelist>',
  ),
  fc
    .record({ id: fc.string({ maxLength: 12 }), status: scalar, n: scalar, s: scalar })
    .map(
      ({ id, status, n, s }) =>
        `<myanimelist><anime><series_animedb_id>${id}</series_animedb_id><my_status>${String(status)}</my_status><my_watched_episodes>${String(n)}</my_watched_episodes><my_score>${String(s)}</my_score><my_start_date>${String(s)}</my_start_date></anime></myanimelist>`,
    ),
);
const query = fc.dictionary(
  fc.constantFrom(
    'q',
    'page',
    'perPage',
    'sort',
    'order',
    'season',
    'year',
    'type',
    'status',
    'genre',
    'studio',
    'format',
    'gzip',
    'favourite',
    'zz',
  ),
  fc.oneof(scalar.map(String), fc.string({ unit: 'binary', maxLength: 20 })),
  { maxKeys: 4 },
);

describe('garbage at every endpoint', () => {
  it('never answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ROUTES),
        fc.record({ a: fc.oneof(animeSegment, fc.constant('__monster__')), b: segment, c: segment }),
        query,
        body,
        fc.boolean(),
        fc.constantFrom('application/json', 'application/xml', 'text/plain', 'application/merge-patch+json'),
        async ([fn, method, template], params, q, payload, signed, contentType) => {
          const path = template.replace(/\{(\w)\}/g, (_, k: 'a' | 'b' | 'c') =>
            encodeURIComponent(params[k] === '__monster__' ? String(monster) : params[k]),
          );
          const url = new URL(`${base[fn]}${path}`);
          for (const [k, v] of Object.entries(q)) url.searchParams.set(k, v);
          const headers: Record<string, string> = { 'content-type': contentType };
          if (signed) headers.authorization = `Bearer ${token}`;
          const res = await fetch(url, {
            method,
            headers,
            body: method === 'GET' || method === 'DELETE' ? undefined : payload,
          });
          const text = await res.text();
          seen.add(res.status);
          if (res.status >= 500)
            throw new Error(
              `${method} ${url.pathname}${url.search} → ${res.status}: ${text.slice(0, 300)}\nbody: ${payload.slice(0, 300)}`,
            );
          if (res.status >= 400)
            expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/);
        },
      ),
      { numRuns: 1500 },
    );
    // the garbage reached the handlers too, not only the validators
    expect([...seen].filter((s) => s < 300).length).toBeGreaterThan(0);
  }, 180_000);
});
