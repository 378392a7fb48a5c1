import { NotFound } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { traceparentOf } from '../lib/tracing/trace-headers.ts';
import { parseAnimeId } from '../lib/tracking/anime.ts';
import { deleteRating, readRating, submitRating, type WriteResult } from '../lib/tracking/ratings.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { RateAnimeApi } from './api.ts';
import { episodeRatings, rateEpisode } from './episodes.ts';

const NO_STORE = { 'cache-control': 'private, no-store' };

function animeIdOf(ctx: { readonly params: { readonly id: string } }): number {
  const id = parseAnimeId(ctx.params.id);
  if (id === undefined) throw new NotFound(`anime ${ctx.params.id} not found`);
  return id;
}

/** rate-anime's routes: the caller's rating (+ aspects, review), per-episode ratings, public reviews. */
export function rateAnimeRoutes(deps: Omit<TrackingDeps, 'authenticate' | 'redis'>): AnyRoute[] {
  const { db, cache, runtime, publish } = deps;
  const traceparent = () => traceparentOf(runtime.tracing.tracer.id);

  /** Commit, then drop the cached anime (before answering), then publish what the outbox holds. */
  async function write(animeId: number, work: Parameters<typeof db.transaction<WriteResult>>[0]) {
    const result = await db.transaction(work);
    await cache.invalidate([animeId]);
    await publish(result.events);
    return result;
  }

  return implement(RateAnimeApi, {
    getRating: async (ctx) => {
      const rating = await readRating(db.pool, ctx.identity.sub, animeIdOf(ctx));
      if (!rating) throw new NotFound('you have not rated this anime');
      return { headers: NO_STORE, body: rating };
    },
    putRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const identity = ctx.identity;
      const { rating, aggregate } = await write(animeId, (tx) =>
        submitRating(tx, identity, animeId, ctx.body, { traceparent: traceparent() }),
      );
      return { headers: NO_STORE, body: { animeId, rating, aggregate } };
    },
    patchRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const { rating, aggregate } = await write(animeId, (tx) =>
        submitRating(tx, ctx.identity, animeId, ctx.body, { traceparent: traceparent(), mode: 'merge' }),
      );
      return { headers: NO_STORE, body: { animeId, rating, aggregate } };
    },
    deleteRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      await write(animeId, (tx) => deleteRating(tx, ctx.identity, animeId, { traceparent: traceparent() }));
      return { status: 204 };
    },
    putEpisodeRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const { events, ...body } = await db.transaction((tx) =>
        rateEpisode(tx, ctx.identity, animeId, ctx.params.episode, ctx.body.score, {
          traceparent: traceparent(),
        }),
      );
      await publish(events);
      return { headers: NO_STORE, body: { animeId, ...body } };
    },
    deleteEpisodeRating: async (ctx) => {
      const animeId = animeIdOf(ctx);
      const { events } = await db.transaction((tx) =>
        rateEpisode(tx, ctx.identity, animeId, ctx.params.episode, null, {
          traceparent: traceparent(),
        }),
      );
      await publish(events);
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
