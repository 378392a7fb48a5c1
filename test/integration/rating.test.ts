import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { rateAnimeFromEnv } from '../../functions/rate-anime/rate-anime.ts';
import { clientCredentialsToken } from '../setup/keycloak-client.ts';
import { caller } from '../support/caller.ts';
import type { Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { ownAnime, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

const env = inject('env');
let catalog = '';
let rate = '';
let tokens: KeycloakTokens;
let db: pg.Pool;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'rating');
  const settings = trackingEnv(env, 'rating-test');
  const c = await serveOnHost('catalog', catalogFromEnv(settings));
  const r = await serveOnHost('rate-anime', rateAnimeFromEnv(settings));
  catalog = c.url;
  rate = r.url;
  closers.push(c.close, r.close);
  db = new pg.Pool({ connectionString: env.DATABASE_URL });
});
afterAll(async () => {
  for (const close of closers) await close();
  await db?.end();
  await tokens?.close();
});

/** The shared JSON client (test/support/caller.ts), signing with this file's tokens. */
const call: ReturnType<typeof caller> = (...args) => caller(tokens)(...args);
const outboxFor = async (animeId: number) =>
  (
    await db.query(`select event from outbox where subject = $1 order by created_at`, [String(animeId)])
  ).rows.map((r) => r.event);
/** An anime of the calling test's own (23 episodes): no other test moves its aggregate. */
const fresh = (label: string) => ownAnime(env.DATABASE_URL as string, `Rating ${label}`, 23);

describe('rating an anime', () => {
  it('a rating followed at once by a catalog read shows the new aggregate (cache dropped)', async () => {
    const mushishi = await fresh('cache');
    const warm = await call('GET', `${catalog}/anime/${mushishi}`);
    expect(warm.body.stats.count).toBe(0);
    const cached = await call('GET', `${catalog}/anime/${mushishi}`); // now served from Redis
    expect(cached.body.stats.count).toBe(0);
    for (const [user, score] of [
      ['r-alice', 9],
      ['r-bob', 7],
      ['r-carol', 8],
    ] as const) {
      const put = await call('PUT', `${rate}/anime/${mushishi}/rating`, user, { score });
      expect(put.status).toBe(200);
      const read = await call('GET', `${catalog}/anime/${mushishi}`);
      expect(read.body.stats.count).toBe(put.body.aggregate.count);
      expect(read.body.stats.mean).toBe(put.body.aggregate.mean);
    }
    const after = await call('GET', `${catalog}/anime/${mushishi}`);
    expect(after.body.stats).toMatchObject({ count: 3, mean: 8 });
    expect(after.body.stats.distribution).toMatchObject({ 7: 1, 8: 1, 9: 1, 10: 0 });
    expect(after.body.stats.rank).toBeGreaterThanOrEqual(1);
  });

  it('changing and deleting a rating moves the aggregate by the difference', async () => {
    const haibane = await fresh('change');
    await call('PUT', `${rate}/anime/${haibane}/rating`, 'r-dave', { score: 4 });
    const changed = await call('PUT', `${rate}/anime/${haibane}/rating`, 'r-dave', { score: 10 });
    expect(changed.body.aggregate).toEqual({ count: 1, mean: 10 });
    let read = await call('GET', `${catalog}/anime/${haibane}`);
    expect(read.body.stats.distribution).toMatchObject({ 4: 0, 10: 1 });
    expect((await call('DELETE', `${rate}/anime/${haibane}/rating`, 'r-dave')).status).toBe(204);
    read = await call('GET', `${catalog}/anime/${haibane}`);
    expect(read.body.stats).toMatchObject({ count: 0, mean: null });
    expect(Object.values(read.body.stats.distribution).every((n) => n === 0)).toBe(true);
    expect((await call('GET', `${rate}/anime/${haibane}/rating`, 'r-dave')).status).toBe(404);
  });

  it('writes rating.removed to the outbox with the deletion; deleting nothing emits nothing', async () => {
    const haibane = await fresh('removed');
    await call('PUT', `${rate}/anime/${haibane}/rating`, 'r-dora', { score: 7, review: 'fine' });
    expect((await call('DELETE', `${rate}/anime/${haibane}/rating`, 'r-dora')).status).toBe(204);
    const removed = (await outboxFor(haibane)).filter(
      (e) => e.type === 'dev.isekai.rating.removed.v1' && e.data.userId === tokens.subOf('r-dora'),
    );
    expect(removed).toHaveLength(1);
    expect(removed[0]).toMatchObject({
      source: '/functions/rate-anime',
      subject: String(haibane),
      data: { animeId: haibane, previousScore: 7, hadReview: true, aggregate: { count: 0, mean: 0 } },
    });
    expect((await call('DELETE', `${rate}/anime/${haibane}/rating`, 'r-dora')).status).toBe(204);
    const again = (await outboxFor(haibane)).filter(
      (e) => e.type === 'dev.isekai.rating.removed.v1' && e.data.userId === tokens.subOf('r-dora'),
    );
    expect(again).toHaveLength(1);
  });

  it('writes rating.submitted to the outbox in the same transaction', async () => {
    const anime = await fresh('same-tx');
    await call('PUT', `${rate}/anime/${anime}/rating`, 'r-tx-first', { score: 6 });
    const put = await call('PUT', `${rate}/anime/${anime}/rating`, 'r-tx', { score: 8 });
    expect(put.status).toBe(200);
    const submitted = (await outboxFor(anime)).filter((e) => e.type === 'dev.isekai.rating.submitted.v1');
    expect(submitted.map((e) => e.data.userId)).toEqual([tokens.subOf('r-tx-first'), tokens.subOf('r-tx')]);
    expect(submitted[1]).toMatchObject({
      source: '/functions/rate-anime',
      subject: String(anime),
      data: {
        animeId: anime,
        userId: tokens.subOf('r-tx'),
        score: 8,
        previousScore: null,
        aggregate: { count: 2, mean: 7 },
      },
    });
    // The rating, the aggregate it moved and its outbox row carry one transaction id (xmin): one commit.
    const xmin = async (sql: string) =>
      (await db.query(sql, [String(anime), tokens.subOf('r-tx')])).rows.map((r) => r.x);
    const [rating, stats, outbox] = await Promise.all([
      xmin('select xmin::text x from ratings where anime_id = $1::int and user_id = $2'),
      xmin("select xmin::text x from anime_stats where anime_id = $1::int and $2 <> ''"),
      xmin(`select xmin::text x from outbox where subject = $1 and event->'data'->>'userId' = $2`),
    ]);
    expect(rating).toHaveLength(1);
    expect(stats).toEqual(rating);
    expect(outbox).toEqual(rating);
  });

  it('stores aspects and a review as text; the caller sees it in the catalog detail', async () => {
    const ergo = await fresh('review');
    const review = '<script>alert("x")</script> & great';
    const put = await call('PUT', `${rate}/anime/${ergo}/rating`, 'r-erin', {
      score: 9,
      aspects: { animation: 8, music: 9, plot: 10, characters: 10 },
      review,
    });
    expect(put.body.rating).toMatchObject({ score: 9, plot: 10, review });
    const reviews = await call('GET', `${rate}/anime/${ergo}/reviews`);
    expect(reviews.headers.get('x-content-type-options')).toBe('nosniff');
    expect(reviews.headers.get('content-type')).toMatch(/^application\/json/);
    expect(reviews.body.items[0]).toMatchObject({ author: 'Name r-erin', review, score: 9 });
    const mine = await call('GET', `${catalog}/anime/${ergo}`, 'r-erin');
    expect(mine.body.me.rating).toMatchObject({ score: 9, review });
    expect(mine.body.stats.aspects.plot).toEqual({ mean: 10, count: 1 });
  });

  it('PUT replaces the whole rating (review and aspects left out are cleared); PATCH merges', async () => {
    const ergo = await fresh('put-patch');
    // Another rater's plot 10 stays in the aspect aggregate throughout.
    await call('PUT', `${rate}/anime/${ergo}/rating`, 'r-ivy-peer', { score: 9, aspects: { plot: 10 } });
    const full = { score: 9, aspects: { animation: 8, music: 9, plot: 10, characters: 10 }, review: 'good' };
    await call('PUT', `${rate}/anime/${ergo}/rating`, 'r-ivy', full);
    const patched = await call('PATCH', `${rate}/anime/${ergo}/rating`, 'r-ivy', { score: 7 });
    expect(patched.status).toBe(200);
    expect(patched.body.rating).toMatchObject({ score: 7, plot: 10, music: 9, review: 'good' });
    const cleared = await call('PATCH', `${rate}/anime/${ergo}/rating`, 'r-ivy', {
      review: null,
      aspects: { music: null },
    });
    expect(cleared.body.rating).toMatchObject({ score: 7, plot: 10, music: null, review: null });
    const replaced = await call('PUT', `${rate}/anime/${ergo}/rating`, 'r-ivy', { score: 8 });
    expect(replaced.body.rating).toMatchObject({
      score: 8,
      animation: null,
      music: null,
      plot: null,
      characters: null,
      review: null,
    });
    // the aspect aggregates follow: r-ivy's plot 10 is gone again
    const detail = await call('GET', `${catalog}/anime/${ergo}`);
    expect(detail.body.stats.aspects.plot).toEqual({ mean: 10, count: 1 });
  });

  it('PATCH of an anime the caller has not rated, without a score → 404, nothing written', async () => {
    const ergo = await fresh('patch-unrated');
    const res = await call('PATCH', `${rate}/anime/${ergo}/rating`, 'r-jane', { review: 'hm' });
    expect(res.status).toBe(404);
    expect(
      (await db.query('select 1 from ratings where user_id = $1', [tokens.subOf('r-jane')])).rowCount,
    ).toBe(0);
  });

  it('the integrator client (client credentials) cannot rate: 403 problem+json, the scores unmoved', async () => {
    const ergo = await fresh('machine');
    const { access_token } = await clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID as string,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET as string,
    );
    const res = await fetch(`${rate}/anime/${ergo}/rating`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ score: 10 }),
    });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(((await res.json()) as Loose).code).toBe('forbidden');
    expect((await db.query('select 1 from ratings where anime_id = $1', [ergo])).rowCount).toBe(0);
    expect((await call('GET', `${catalog}/anime/${ergo}`)).body.stats.count).toBe(0);
  });

  it('rates single episodes with per-episode means', async () => {
    const ergo = await fresh('episodes');
    expect(
      (await call('PUT', `${rate}/anime/${ergo}/episodes/3/rating`, 'r-erin', { score: 6 })).status,
    ).toBe(200);
    await call('PUT', `${rate}/anime/${ergo}/episodes/3/rating`, 'r-frank', { score: 9 });
    await call('PUT', `${rate}/anime/${ergo}/episodes/3/rating`, 'r-frank', { score: 10 });
    const list = await call('GET', `${rate}/anime/${ergo}/episodes/ratings`, 'r-erin');
    expect(list.body.episodes).toEqual([{ episode: 3, count: 2, mean: 8, mine: 6 }]);
    expect((await call('DELETE', `${rate}/anime/${ergo}/episodes/3/rating`, 'r-frank')).status).toBe(204);
    const after = await call('GET', `${rate}/anime/${ergo}/episodes/ratings`);
    expect(after.body.episodes).toEqual([{ episode: 3, count: 1, mean: 6 }]);
  });

  it('writes episode.rated to the outbox for each episode score set, changed or removed', async () => {
    const ergo = await fresh('episode-rated');
    await call('PUT', `${rate}/anime/${ergo}/episodes/5/rating`, 'r-gus', { score: 4 });
    await call('PUT', `${rate}/anime/${ergo}/episodes/5/rating`, 'r-gus', { score: 7 });
    await call('DELETE', `${rate}/anime/${ergo}/episodes/5/rating`, 'r-gus');
    await call('DELETE', `${rate}/anime/${ergo}/episodes/5/rating`, 'r-gus');
    const rated = (await outboxFor(ergo)).filter(
      (e) => e.type === 'dev.isekai.episode.rated.v1' && e.data.userId === tokens.subOf('r-gus'),
    );
    expect(rated.map((e) => [e.data.episode, e.data.previousScore, e.data.score])).toEqual([
      [5, null, 4],
      [5, 4, 7],
      [5, 7, null],
    ]);
    expect(rated[2]).toMatchObject({ subject: String(ergo), data: { aggregate: { count: 0, mean: 0 } } });
    // rating.submitted stays about whole anime: an episode score never appears there
    const submitted = (await outboxFor(ergo)).filter(
      (e) => e.type === 'dev.isekai.rating.submitted.v1' && e.data.userId === tokens.subOf('r-gus'),
    );
    expect(submitted).toHaveLength(0);
  });
});

describe('bad ratings are refused whole', () => {
  const refused: [string, Loose, string][] = [
    ['score 11', { score: 11 }, '/body/score'],
    ['score 0', { score: 0 }, '/body/score'],
    ['score 7.5', { score: 7.5 }, '/body/score'],
    ['missing score', {}, '/body/score'],
    ['aspect out of range', { score: 5, aspects: { music: 12 } }, '/body/aspects/music'],
    ['unknown aspect', { score: 5, aspects: { voice: 3 } }, '/body/aspects/voice'],
    ['oversized review', { score: 5, review: 'x'.repeat(10_001) }, '/body/review'],
  ];
  expect(refused, 'refused bodies').toHaveLength(7);
  it.each(refused)('%s → 400 naming the field, nothing written', async (_name, body, field) => {
    const haibane = await fresh('refused');
    const before = (await outboxFor(haibane)).length;
    const res = await call('PUT', `${rate}/anime/${haibane}/rating`, 'r-gina', body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: Loose) => e.field)).toContain(field);
    expect(await outboxFor(haibane)).toHaveLength(before);
    const rows = await db.query('select 1 from ratings where user_id = $1', [tokens.subOf('r-gina')]);
    expect(rows.rowCount).toBe(0);
  });

  it('an episode past the last one → 400 naming /path/episode', async () => {
    const ergo = await fresh('past-last');
    const res = await call('PUT', `${rate}/anime/${ergo}/episodes/24/rating`, 'r-gina', { score: 5 });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].field).toBe('/path/episode');
  });

  it('unknown anime → 404 and no user row, no event', async () => {
    const res = await call('PUT', `${rate}/anime/987654/rating`, 'r-hank', { score: 5 });
    expect(res.status).toBe(404);
    expect((await db.query('select 1 from users where id = $1', [tokens.subOf('r-hank')])).rowCount).toBe(0);
    expect(await outboxFor(987654)).toHaveLength(0);
  });

  it('a 100 KiB body → 413; no token → 401', async () => {
    const haibane = await fresh('limits');
    const big = await call('PUT', `${rate}/anime/${haibane}/rating`, 'r-gina', {
      score: 5,
      review: 'y'.repeat(100_000),
    });
    expect(big.status).toBe(413);
    const anon = await call('PUT', `${rate}/anime/${haibane}/rating`, undefined, { score: 5 });
    expect(anon.status).toBe(401);
  });
});

describe('users', () => {
  it('are created on first authenticated use from the token claims', async () => {
    const anime = await fresh('users');
    expect((await call('PUT', `${rate}/anime/${anime}/rating`, 'r-newcomer', { score: 5 })).status).toBe(200);
    const { rows } = await db.query('select id, username, display_name from users where id = $1', [
      tokens.subOf('r-newcomer'),
    ]);
    expect(rows[0]).toEqual({
      id: tokens.subOf('r-newcomer'),
      username: tokens.usernameOf('r-newcomer'),
      display_name: 'Name r-newcomer',
    });
  });
});
