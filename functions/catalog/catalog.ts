import { NotFound } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { CatalogApi } from './api.ts';
import { animeDetail, callerView, listAnime } from './queries.ts';

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
      const { year, season: name } = ctx.params;
      const query = { ...ctx.query, year, season: name };
      return {
        headers: CACHE_HEADERS,
        body: await cache.list({ route: 'anime', ...query }, () => listAnime(db, query)),
      };
    },
    getAnime: async (ctx) => {
      const id = ctx.params.id;
      const anime = await cache.anime(id, () => animeDetail(db, id));
      if (!anime) throw new NotFound(`anime ${id} not found`);
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
