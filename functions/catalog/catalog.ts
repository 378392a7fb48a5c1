import { NotFound } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { parseAnimeId } from '../lib/tracking/anime.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { CatalogApi } from './api.ts';
import { animeDetail, callerView, listAnime } from './queries.ts';
import { SEASONS } from './schemas.ts';

const CACHE_HEADERS = {
  'cache-control': 'public, max-age=0, must-revalidate',
  'content-type': 'application/json; charset=utf-8',
};

/** The catalog routes: list/search, seasons, detail (+ the caller's own entry with a token). */
export function catalogRoutes(deps: Pick<TrackingDeps, 'db' | 'cache'>): AnyRoute[] {
  const { db, cache } = deps;
  return implement(CatalogApi, {
    listAnime: async (ctx) => ({
      headers: CACHE_HEADERS,
      body: await cache.list({ route: 'anime', ...ctx.query }, () => listAnime(db, ctx.query)),
    }),
    listSeason: async (ctx) => {
      const year = Number(ctx.params.year);
      const name = ctx.params.season as (typeof SEASONS)[number];
      if (!/^\d{4}$/.test(ctx.params.year) || year < 1900 || year > 2200 || !SEASONS.includes(name)) {
        throw new NotFound(
          `no season ${ctx.params.year}/${ctx.params.season} (seasons: ${SEASONS.join(', ')})`,
        );
      }
      const query = { ...ctx.query, year, season: name };
      return {
        headers: CACHE_HEADERS,
        body: await cache.list({ route: 'anime', ...query }, () => listAnime(db, query)),
      };
    },
    getAnime: async (ctx) => {
      const id = parseAnimeId(ctx.params.id);
      const anime = id === undefined ? undefined : await cache.anime(id, () => animeDetail(db, id));
      if (id === undefined || !anime) throw new NotFound(`anime ${ctx.params.id} not found`);
      if (!ctx.identity) return { headers: CACHE_HEADERS, body: anime };
      const me = await callerView(db, ctx.identity.sub, id);
      return {
        headers: { 'cache-control': 'private, no-store' },
        body: { ...JSON.parse(anime.toString()), me },
      };
    },
  });
}

/** The catalog function from its dependencies. */
export function createCatalog(deps: TrackingDeps): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: catalogRoutes(deps),
    authenticate: deps.authenticate,
  });
}

/** The catalog function wired from the environment (what index.ts registers). */
export function catalogFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides?: WiringOverrides,
): HttpHandler {
  return createCatalog(wireTracking('catalog', env, overrides));
}
