import { loadConfig, Type } from '../lib/config.ts';
import { asIsekaiError } from '../lib/errors.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { Identity, RequestContext, Route } from '../lib/http/types.ts';
import { traceparentOf } from '../lib/tracing/trace-headers.ts';
import { BulkQuery, bulkDownload } from './bulk.ts';
import { type DownloadQuery, DownloadQuery as DownloadQuerySchema, downloadSubtitle } from './download.ts';
import { relayPendingSubtitleEvents } from './events.ts';
import {
  auditLog,
  listReports,
  MineQuery,
  ModerationInput,
  moderateSubtitle,
  mySubtitles,
  ReportInput,
  ReportsQuery,
  reportSubtitle,
} from './moderation.ts';
import { publishedSubtitle, SearchQuery, searchSubtitles } from './search.ts';
import { subtitleView } from './store.ts';
import { setTrust, TrustInput } from './uploaders.ts';
import { VoteInput, voteSubtitle } from './votes.ts';
import { mongoFault, type SubtitleDeps, type SubtitleOverrides, wireSubtitles } from './wiring.ts';

/** What subtitles reads besides the shared subtitle settings. */
export const RelaySettings = Type.Object({
  /** How often pending events (broker down at write time) are republished; 0 turns the relay off. */
  SUBTITLE_RELAY_INTERVAL_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 30_000 }),
  /** Events younger than this are left to their producer's own publish (fewer double sends). */
  SUBTITLE_RELAY_MIN_AGE_MS: Type.Integer({ minimum: 0, maximum: 3_600_000, default: 10_000 }),
});

const MODERATORS = { roles: ['moderator', 'admin'] } as const;
const NO_STORE = { 'cache-control': 'private, no-store' };

/** subtitles' routes: public search/detail/download, user reports, the moderators' queue and decisions. */
export function subtitleRoutes(deps: SubtitleDeps): Route<never, never>[] {
  const publish = { send: deps.send, log: deps.runtime.log };
  const traceparent = () => traceparentOf(deps.runtime.tracing.tracer.id);
  /** Run with the collections; a MongoDB outage answers 503. */
  const withMongo =
    <B, Q>(
      work: (
        ctx: RequestContext<B, Q>,
        c: Awaited<ReturnType<SubtitleDeps['collections']>>,
      ) => Promise<unknown>,
    ) =>
    async (ctx: RequestContext<B, Q>) => {
      try {
        return (await work(ctx, await deps.collections())) as never;
      } catch (error) {
        throw mongoFault(error);
      }
    };
  const routes = [
    {
      method: 'GET',
      path: '/subtitles',
      access: 'public',
      query: SearchQuery,
      handle: withMongo<unknown, SearchQuery>(async (ctx, c) => ({
        headers: { 'cache-control': 'public, max-age=30' },
        body: await searchSubtitles(c, ctx.query),
      })),
    } satisfies Route<unknown, SearchQuery>,
    {
      method: 'GET',
      path: '/subtitles/reports',
      access: MODERATORS,
      query: ReportsQuery,
      handle: withMongo<unknown, ReportsQuery>(async (ctx, c) => ({
        headers: NO_STORE,
        body: await listReports(c, ctx.query),
      })),
    } satisfies Route<unknown, ReportsQuery>,
    {
      method: 'GET',
      path: '/subtitles/bulk',
      access: 'public',
      query: BulkQuery,
      handle: withMongo<unknown, BulkQuery>((ctx, c) => bulkDownload(deps, c, ctx.query)),
    } satisfies Route<unknown, BulkQuery>,
    {
      method: 'GET',
      path: '/subtitles/mine',
      access: 'user',
      query: MineQuery,
      handle: withMongo<unknown, MineQuery>(async (ctx, c) => ({
        headers: NO_STORE,
        body: await mySubtitles(c, ctx.identity as Identity, ctx.query),
      })),
    } satisfies Route<unknown, MineQuery>,
    {
      method: 'GET',
      path: '/subtitles/:id/audit',
      access: MODERATORS,
      handle: withMongo(async (ctx, c) => ({ headers: NO_STORE, body: await auditLog(c, ctx.params.id) })),
    } satisfies Route,
    {
      method: 'GET',
      path: '/subtitles/:id',
      access: 'public',
      handle: withMongo(async (ctx, c) => ({
        body: subtitleView({ ...(await publishedSubtitle(c, ctx.params.id)), pendingEvents: [] }),
      })),
    } satisfies Route,
    {
      method: 'GET',
      path: '/subtitles/:id/download',
      access: 'public',
      query: DownloadQuerySchema,
      handle: withMongo<unknown, DownloadQuery>((ctx, c) =>
        downloadSubtitle(deps, c, ctx.params.id, ctx.query, { count: ctx.req.method !== 'HEAD' }),
      ),
    } satisfies Route<unknown, DownloadQuery>,
    {
      method: 'POST',
      path: '/subtitles/:id/reports',
      access: 'user',
      body: ReportInput,
      handle: withMongo<ReportInput, unknown>(async (ctx, c) => ({
        status: 201,
        headers: NO_STORE,
        body: await reportSubtitle(
          publish,
          c,
          ctx.identity as Identity,
          ctx.params.id,
          ctx.body,
          traceparent(),
        ),
      })),
    } satisfies Route<ReportInput, unknown>,
    {
      method: 'PUT',
      path: '/subtitles/uploaders/:userId',
      access: { roles: ['admin'] },
      body: TrustInput,
      handle: withMongo<TrustInput, unknown>(async (ctx, c) => ({
        headers: NO_STORE,
        body: await setTrust(c, ctx.identity as Identity, ctx.params.userId, ctx.body),
      })),
    } satisfies Route<TrustInput, unknown>,
    {
      method: 'PUT',
      path: '/subtitles/:id/vote',
      access: 'user',
      body: VoteInput,
      handle: withMongo<VoteInput, unknown>(async (ctx, c) => ({
        headers: NO_STORE,
        body: await voteSubtitle(c, ctx.identity as Identity, ctx.params.id, ctx.body.value),
      })),
    } satisfies Route<VoteInput, unknown>,
    {
      method: 'DELETE',
      path: '/subtitles/:id/vote',
      access: 'user',
      handle: withMongo(async (ctx, c) => ({
        headers: NO_STORE,
        body: await voteSubtitle(c, ctx.identity as Identity, ctx.params.id, null),
      })),
    } satisfies Route,
    {
      method: 'POST',
      path: '/subtitles/:id/moderation',
      access: MODERATORS,
      body: ModerationInput,
      handle: withMongo<ModerationInput, unknown>(async (ctx, c) => ({
        headers: NO_STORE,
        body: await moderateSubtitle(
          publish,
          c,
          ctx.identity as Identity,
          ctx.params.id,
          ctx.body,
          traceparent(),
        ),
      })),
    } satisfies Route<ModerationInput, unknown>,
  ];
  return routes as Route<never, never>[];
}

/** The subtitles function from its dependencies. */
export function createSubtitles(deps: SubtitleDeps): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: subtitleRoutes(deps),
    authenticate: deps.authenticate,
  });
}

/**
 * Republish pending subtitle events every `intervalMs` (the hot replicas are always up, so no PingSource
 * is needed; consumers dedupe by event id, so replicas relaying the same event at once is harmless).
 * Returns a stop function, also registered as a shutdown hook.
 */
export function startRelay(deps: SubtitleDeps, intervalMs: number, minAgeMs = 10_000): () => void {
  if (!deps.send || intervalMs === 0) return () => undefined;
  let running = false;
  const tick = async () => {
    if (running) return; // a slow run (broker timing out) is not overlapped by the next
    running = true;
    try {
      const c = await deps.collections();
      const result = await relayPendingSubtitleEvents(
        { send: deps.send, log: deps.runtime.log, collections: c },
        { minAgeMs },
      );
      if (result.published + result.failed > 0)
        deps.runtime.log.info(result, 'pending subtitle events relayed');
    } catch (error) {
      deps.runtime.log.warn({ code: asIsekaiError(error).code, err: error }, 'subtitle event relay failed');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), intervalMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  deps.runtime.onShutdown(stop);
  return stop;
}

/** The subtitles function wired from the environment (what index.ts registers), its relay started. */
export function subtitlesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: SubtitleOverrides = {},
): HttpHandler {
  const relay = loadConfig(RelaySettings, env);
  const deps = wireSubtitles('subtitles', env, overrides);
  startRelay(deps, relay.SUBTITLE_RELAY_INTERVAL_MS, relay.SUBTITLE_RELAY_MIN_AGE_MS);
  return createSubtitles(deps);
}
