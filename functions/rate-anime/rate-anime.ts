import type pg from 'pg';
import { NotFound } from '../lib/errors.ts';
import { commitAndPublish } from '../lib/events/commit.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { deleteRating, readRating, submitRating, type WriteResult } from '../lib/tracking/ratings.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { RateAnimeApi } from './api.ts';
import { episodeRatings, rateEpisode } from './episodes.ts';

const NO_STORE = { 'cache-control': 'private, no-store' };

/** The anime id of the path (checked and converted by the route's `params`: 400 when malformed). */
const animeIdOf = (ctx: { readonly params: { readonly id: number } }): number => ctx.params.id;

/** rate-anime's routes: the caller's rating (+ aspects, review), per-episode ratings, public reviews. */
export function rateAnimeRoutes(deps: Omit<TrackingDeps, 'authenticate' | 'redis'>): AnyRoute[] {
  const { db, cache, publish } = deps;

  /** Commit, then drop the cached anime (before answering), then publish what the outbox holds. */
  const write = (
    animeId: number,
    work: (tx: pg.PoolClient) => Promise<WriteResult>,
    options: { readonly oneStatement?: boolean } = {},
  ) => commitAndPublish({ db, publish }, work, () => cache.invalidate([animeId]), options);

  return implement(RateAnimeApi, {
    getRating: async (ctx) => {
      const rating = await readRating(db.pool, ctx.identity.sub, animeIdOf(ctx));
      if (!rating) throw new NotFound('you have not rated this anime');
      return { headers: NO_STORE, body: rating };
    },
    putRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const identity = ctx.identity;
      const { rating, aggregate } = await write(
        animeId,
        (tx) => submitRating(tx, identity, animeId, ctx.body),
        { oneStatement: true },
      );
      return { headers: NO_STORE, body: { animeId, rating, aggregate } };
    },
    patchRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const { rating, aggregate } = await write(
        animeId,
        (tx) => submitRating(tx, ctx.identity, animeId, ctx.body, { mode: 'merge' }),
        { oneStatement: true },
      );
      return { headers: NO_STORE, body: { animeId, rating, aggregate } };
    },
    deleteRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      await write(animeId, (tx) => deleteRating(tx, ctx.identity, animeId));
      return { status: 204 };
    },
    putEpisodeRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const { events: _published, ...body } = await commitAndPublish({ db, publish }, (tx) =>
        rateEpisode(tx, ctx.identity, animeId, ctx.params.episode, ctx.body.score),
      );
      return { headers: NO_STORE, body: { animeId, ...body } };
    },
    deleteEpisodeRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      await commitAndPublish({ db, publish }, (tx) =>
        rateEpisode(tx, ctx.identity, animeId, ctx.params.episode, null),
      );
      return { status: 204 };
    },
    listEpisodeRatings: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const exists = await db.query('select 1 from anime where id = $1', [animeId]);
      if (exists.rowCount === 0) throw new NotFound(`anime ${animeId} not found`);
      return { body: { animeId, episodes: await episodeRatings(db.pool, animeId, ctx.identity?.sub) } };
    },
    listReviews: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const { page, perPage } = ctx.query;
      const { rows } = await db.query(
        `select r.user_id, coalesce(u.display_name, u.username) as author, r.score, r.review, r.updated_at,
             count(*) over () as total
           from ratings r join users u on u.id = r.user_id
           where r.anime_id = $1 and r.review is not null
           order by r.updated_at desc, r.user_id limit $2 offset $3`,
        [animeId, perPage, (page - 1) * perPage],
      );
      const total = Number(rows[0]?.total ?? 0);
      return {
        // Reviews are user text: served as JSON only, never sniffed as HTML.
        headers: { 'x-content-type-options': 'nosniff' },
        body: {
          animeId,
          items: rows.map((r) => ({
            userId: r.user_id,
            author: r.author,
            score: r.score,
            review: r.review,
            updatedAt: r.updated_at.toISOString(),
          })),
          page,
          perPage,
          total,
        },
      };
    },
  });
}

/** The rate-anime function from its dependencies. */
export function createRateAnime(deps: TrackingDeps): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: rateAnimeRoutes(deps),
    authenticate: deps.authenticate,
  });
}

/** The rate-anime function wired from the environment (what index.ts registers). */
export function rateAnimeFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides?: WiringOverrides,
): HttpHandler {
  return createRateAnime(wireTracking('rate-anime', env, overrides));
}
