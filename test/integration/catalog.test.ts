import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { json, type Loose } from '../support/http.ts';
import { prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

const env = inject('env');
let base = '';
let close: () => Promise<void>;

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  // Production wiring: the function verifies tokens against the suite's Keycloak (trackingEnv's issuer).
  const server = await serveOnHost('catalog', catalogFromEnv(trackingEnv(env, 'catalog-test')));
  base = server.url;
  close = server.close;
});
afterAll(() => close?.());

const get = async (path: string): Promise<{ status: number; body: Loose }> => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: await json(res) };
};
const titles = (body: Loose): string[] => body.items.map((a: Loose) => a.title);

describe('catalog search', () => {
  it.each([
    ['romaji with a typo', 'naruto shipuden', 'Naruto: Shippuuden'],
    ['English title', 'spirited away', 'Sen to Chihiro no Kamikakushi'],
    ['Japanese title', '千と千尋', 'Sen to Chihiro no Kamikakushi'],
    ['synonym', "knockin' on heaven's door", 'Cowboy Bebop: Tengoku no Tobira'],
    ['accents ignored', 'pokémon', 'Pokemon'],
    ['one misspelled word (word similarity 0.33)', 'freiren', 'Sousou no Frieren'],
  ])('finds by %s', async (_name, q, expected) => {
    const { status, body } = await get(`/anime?q=${encodeURIComponent(q)}`);
    expect(status).toBe(200);
    expect(titles(body)).toContain(expected);
    expect(titles(body)[0]).toBe(expected);
  });

  it.each([
    ['narto', 'Naruto'],
    ['bebpo', 'Cowboy Bebop'],
    ['monstr', 'Monster'],
    ['frieren', 'Sousou no Frieren'],
  ])('a one-word typo (%s) finds %s first', async (q, expected) => {
    const { body } = await get(`/anime?q=${encodeURIComponent(q)}`);
    expect(titles(body)[0]).toBe(expected);
  });

  it.each([
    // Before, "frieren" also found Natsume's Book of Friends ("friends": strict word similarity 0.33, the
    // score of a one-letter typo such as "freiren"), and "friend" found Frieren (0.36).
    ['an exact title word', 'frieren', 'Sousou no Frieren', 'Natsume Yuujinchou'],
    ['the start of a title word', 'frier', 'Sousou no Frieren', 'Natsume Yuujinchou'],
    ['the start of another title word', 'friend', 'Natsume Yuujinchou', 'Sousou no Frieren'],
  ])(
    'a query matching %s (%s) finds %s, not titles that only resemble it (%s)',
    async (_name, q, expected, noise) => {
      const { body } = await get(`/anime?q=${encodeURIComponent(q)}`);
      expect(titles(body)[0]).toBe(expected);
      expect(titles(body)).not.toContain(noise);
      expect(body.total).toBe(body.items.length);
    },
  );

  it.each([
    ['frierin', 'Sousou no Frieren'],
    ['freiren', 'Sousou no Frieren'],
    ['friendz', 'Natsume Yuujinchou'],
  ])('a typo matching no title precisely (%s) still finds %s', async (q, expected) => {
    const { body } = await get(`/anime?q=${encodeURIComponent(q)}`);
    expect(titles(body)).toContain(expected);
  });

  it.each([
    // Before, each found 9–15 anime: every title with a word starting with the same two letters ("ta…",
    // "he…", "dr…": word similarity 0.33 from two shared trigrams out of six), such as the one named here.
    ['table', 'Gintama'],
    ['hello', 'Bleach: Sennen Kessen-hen'],
    ['dream', 'Dragon Ball Z'],
  ])(
    'an unrelated word (%s) finds at most two anime, not every title sharing two letters (%s)',
    async (q, noise) => {
      const { body } = await get(`/anime?q=${encodeURIComponent(q)}`);
      expect(body.total).toBeLessThanOrEqual(2);
      expect(titles(body)).not.toContain(noise);
    },
  );

  it('suggests the closest titles when a title search finds nothing (and only then)', async () => {
    const { status, body } = await get(`/anime?q=${encodeURIComponent('kowboy bibop')}`);
    expect(status).toBe(200);
    expect(body.total).toBe(0);
    expect(body.items).toEqual([]);
    const suggested = body.suggestions.map((a: Loose) => a.title);
    expect(suggested.slice(0, 2)).toEqual(
      expect.arrayContaining(['Cowboy Bebop', 'Cowboy Bebop: Tengoku no Tobira']),
    );
    expect(body.suggestions.length).toBeLessThanOrEqual(5);
    const nothingClose = await get(`/anime?q=${encodeURIComponent('qqqxxzzvvv')}`);
    expect(nothingClose.body).toMatchObject({ total: 0, suggestions: [] });
    const found = await get('/anime?q=cowboy%20bebop');
    expect(found.body.total).toBeGreaterThan(0);
    expect(found.body.suggestions).toBeUndefined();
  });

  it('filters by season, year, type, genre and studio together', async () => {
    const { body } = await get('/anime?year=1998&season=spring&type=tv&genre=sci-fi&studio=sunrise');
    expect(titles(body)).toEqual(['Cowboy Bebop']);
    expect(body.total).toBe(1);
  });

  it('pages stably with totals: every anime exactly once across pages', async () => {
    const first = await get('/anime?sort=title&perPage=50&page=1');
    const seen: string[] = [];
    for (let page = 1; page <= first.body.totalPages; page++) {
      const { body } = await get(`/anime?sort=title&perPage=50&page=${page}`);
      seen.push(...body.items.map((a: Loose) => String(a.id)));
    }
    expect(first.body.total).toBeGreaterThanOrEqual(207);
    expect(new Set(seen).size).toBe(first.body.total);
    const past = await get(`/anime?sort=title&perPage=50&page=${first.body.totalPages + 1}`);
    expect(past.body).toMatchObject({ items: [], total: first.body.total });
  });

  it('sorts by relevance without a search as it always did (by id)', async () => {
    const { status, body } = await get('/anime?sort=relevance&perPage=5');
    expect(status).toBe(200);
    const ids = body.items.map((a: Loose) => a.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('sorts by start date and title in both directions', async () => {
    const newest = (await get('/anime?sort=start_date&perPage=100')).body.items as Loose[];
    const keys = newest.map(
      (a) => (a.year ?? 0) * 10 + ['winter', 'spring', 'summer', 'fall'].indexOf(a.season),
    );
    expect(keys).toEqual([...keys].sort((a, b) => b - a));
    const az = titles((await get('/anime?sort=title&order=asc&perPage=5')).body);
    expect(az).toEqual([...az].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  });
});

describe('seasons', () => {
  it('lists an airing season', async () => {
    const { status, body } = await get('/seasons/2006/fall');
    expect(status).toBe(200);
    expect(titles(body)).toEqual(expect.arrayContaining(['Death Note', 'Code Geass: Hangyaku no Lelouch']));
    expect(body.items.every((a: Loose) => a.year === 2006 && a.season === 'fall')).toBe(true);
  });

  it.each([
    ['/seasons/2006/autumn', '/path/season'],
    ['/seasons/06/fall', '/path/year'],
    ['/seasons/abcd/fall', '/path/year'],
  ])('%s is not a season: 400 naming the parameter', async (path, field) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.code).toBe('validation_failed');
    expect(body.errors.map((e: Loose) => e.field)).toEqual([field]);
  });
});

describe('anime detail', () => {
  it('answers with aggregates even before anyone rated', async () => {
    const list = await get('/anime?q=cowboy%20bebop&perPage=1');
    const { status, body } = await get(`/anime/${list.body.items[0].id}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      title: 'Cowboy Bebop',
      episodes: 26,
      titles: { native: 'カウボーイビバップ' },
    });
    expect(Object.keys(body.stats.distribution)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10']);
  });

  it('/anime/999999 is not found', async () => {
    const { status, body } = await get('/anime/999999');
    expect(status).toBe(404);
    expect(body.type).toBe('https://isekai.dev/problems/not_found');
  });

  it.each([['/anime/abc'], ['/anime/99999999999999'], ['/anime/-1'], ['/anime/0'], ['/anime/007']])(
    '%s is no anime id: 400 naming /path/id',
    async (path) => {
      const { status, body } = await get(path);
      expect(status).toBe(400);
      expect(body.type).toBe('https://isekai.dev/problems/validation_failed');
      expect(body.errors.map((e: Loose) => e.field)).toEqual(['/path/id']);
    },
  );
});

describe('bad queries', () => {
  it.each([
    ['/anime?year=abc', '/query/year'],
    ['/anime?season=autumn', '/query/season'],
    ['/anime?perPage=1000', '/query/perPage'],
    ['/anime?sort=random', '/query/sort'],
    ['/anime?q=a%00b', '/query/q'],
  ])('%s → 400 naming %s', async (path, field) => {
    const { status, body } = await get(path);
    expect(status).toBe(400);
    expect(body.code).toBe('validation_failed');
    expect(body.errors.map((e: Loose) => e.field)).toContain(field);
  });

  it('refuses unknown parameters', async () => {
    const { status, body } = await get('/anime?colour=red');
    expect(status).toBe(400);
    expect(body.code).toBe('validation_failed');
  });
});
