import { NotFound } from '../lib/errors.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute, Identity, Reply } from '../lib/http/types.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { CatalogApi } from './api.ts';
import { animeDetail, callerView, listAnime } from './queries.ts';

/** Request targets whose list query each list route remembers (`listQueries`). */
const QUERY_MEMO = 256;
const CACHE_HEADERS = {
  'cache-control': 'public, max-age=0, must-revalidate',
  'content-type': 'application/json; charset=utf-8',
};

/**
 * A cached catalog answer as the reply: at once when this process held it (a local hit allocates no
 * promise on its way through the pipeline), else once the cache or PostgreSQL answers.
 */
function cachedReply(body: Buffer | Promise<Buffer>): Reply | Promise<Reply> {
  if (Buffer.isBuffer(body)) return { headers: CACHE_HEADERS, body };
  return body.then((bytes) => ({ headers: CACHE_HEADERS, body: bytes }));
}

/**
 * The cache's list query for a request target (`/anime?q=…`), one frozen object per target: a target always
 * validates to the same query, and the cache makes a frozen query's key once, so a repeated search builds
 * no key. At most QUERY_MEMO targets are remembered per route, the oldest dropped first.
 */
function listQueries(): (
  target: string | undefined,
  make: () => object,
) => Readonly<Record<string, unknown>> {
  const memo = new Map<string, Readonly<Record<string, unknown>>>();
  return (target = '', make) => {
    let query = memo.get(target);
    if (query === undefined) {
      query = Object.freeze({ route: 'anime', ...make() });
      memo.set(target, query);
      if (memo.size > QUERY_MEMO) memo.delete(memo.keys().next().value ?? '');
    }
    return query;
  };
}

/** The catalog routes: list/search, seasons, detail (+ the caller's own entry with a token). */
export function catalogRoutes(deps: Pick<TrackingDeps, 'db' | 'cache'>): AnyRoute[] {
  const { db, cache } = deps;
  const searches = listQueries();
  const seasons = listQueries();
  return implement(CatalogApi, {
    listAnime: (ctx) =>
      cachedReply(
        cache.list(
          searches(ctx.req.url, () => ctx.query),
          () => listAnime(db, ctx.query),
        ),
      ),
    listSeason: (ctx) => {
      const { year, season: name } = ctx.params;
      const query = { ...ctx.query, year, season: name };
      return cachedReply(
        cache.list(
          seasons(ctx.req.url, () => query),
          () => listAnime(db, query),
        ),
      );
    },
    getAnime: (ctx) => {
      const id = ctx.params.id;
      const anime = cache.anime(id, () => animeDetail(db, id));
      if (Buffer.isBuffer(anime) && !ctx.identity) return { headers: CACHE_HEADERS, body: anime };
      return detailReply(db, id, anime, ctx.identity);
    },
  });
}

/** The detail once the cache answered: 404 when there is no such anime, with the caller's `me` for a token. */
async function detailReply(
  db: TrackingDeps['db'],
  id: number,
  cached: Buffer | Promise<Buffer | undefined>,
  identity: Identity | undefined,
): Promise<Reply> {
  const anime = await cached;
  if (!anime) throw new NotFound(`anime ${id} not found`);
  if (!identity) return { headers: CACHE_HEADERS, body: anime };
  const me = await callerView(db, identity.sub, id);
  return {
    headers: { 'cache-control': 'private, no-store' },
    body: { ...JSON.parse(anime.toString()), me },
  };
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
