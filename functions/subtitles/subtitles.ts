import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { subtitleView } from '../lib/subtitles/store.ts';
import { setTrust } from '../lib/subtitles/uploaders.ts';
import {
  mongoFault,
  type SubtitleDeps,
  type SubtitleOverrides,
  wireSubtitles,
} from '../lib/subtitles/wiring.ts';
import { SubtitlesApi } from './api.ts';
import { bulkDownload } from './bulk.ts';
import { downloadSubtitle } from './download.ts';
import { auditLog, listReports, moderateSubtitle, mySubtitles, reportSubtitle } from './moderation.ts';
import { publishedSubtitle, searchSubtitles } from './search.ts';
import { voteSubtitle, withViewerVotes } from './votes.ts';

const NO_STORE = { 'cache-control': 'private, no-store' };

/**
 * subtitles' routes: public search/detail/download/bulk, user votes, reports and own uploads, the
 * moderators' queue, decisions and audit log, admins' trusted uploaders.
 */
export function subtitleRoutes(deps: SubtitleDeps): AnyRoute[] {
  const publish = { send: deps.send, log: deps.runtime.log };
  /** Run with the collections; a MongoDB outage answers 503. */
  const mongo = async <T>(work: (c: Awaited<ReturnType<SubtitleDeps['collections']>>) => Promise<T>) => {
    try {
      return await work(await deps.collections());
    } catch (error) {
      throw mongoFault(error);
    }
  };
  return implement(SubtitlesApi, {
    searchSubtitles: (ctx) =>
      mongo(async (c) => {
        const page = await searchSubtitles(c, ctx.query);
        if (!ctx.identity) return { headers: { 'cache-control': 'public, max-age=30' }, body: page };
        // With a token, each subtitle also carries the caller's own vote: never shared by a cache.
        const items = await withViewerVotes(c, ctx.identity.sub, page.items);
        return { headers: NO_STORE, body: { ...page, items } };
      }),
    listReports: (ctx) => mongo(async (c) => ({ headers: NO_STORE, body: await listReports(c, ctx.query) })),
    bulkDownload: (ctx) => mongo((c) => bulkDownload(deps, c, ctx.query)),
    mySubtitles: (ctx) =>
      mongo(async (c) => ({ headers: NO_STORE, body: await mySubtitles(c, ctx.identity, ctx.query) })),
    setUploaderTrust: (ctx) =>
      mongo(async (c) => ({
        headers: NO_STORE,
        body: await setTrust(c, ctx.identity, ctx.params.userId, ctx.body),
      })),
    voteSubtitle: (ctx) =>
      mongo(async (c) => ({
        headers: NO_STORE,
        body: await voteSubtitle(c, ctx.identity, ctx.params.id, ctx.body.value),
      })),
    withdrawVote: (ctx) =>
      mongo(async (c) => ({
        headers: NO_STORE,
        body: await voteSubtitle(c, ctx.identity, ctx.params.id, null),
      })),
    auditLog: (ctx) => mongo(async (c) => ({ headers: NO_STORE, body: await auditLog(c, ctx.params.id) })),
    getSubtitle: (ctx) =>
      mongo(async (c) => {
        const view = subtitleView({ ...(await publishedSubtitle(c, ctx.params.id)), pendingEvents: [] });
        if (!ctx.identity) return { body: view };
        const [mine] = await withViewerVotes(c, ctx.identity.sub, [view]);
        return { headers: NO_STORE, body: mine };
      }),
    downloadSubtitle: (ctx) =>
      mongo((c) => downloadSubtitle(deps, c, ctx.params.id, ctx.query, { count: ctx.req.method !== 'HEAD' })),
    reportSubtitle: (ctx) =>
      mongo(async (c) => ({
        status: 201,
        headers: NO_STORE,
        body: await reportSubtitle(publish, c, ctx.identity, ctx.params.id, ctx.body),
      })),
    moderateSubtitle: (ctx) =>
      mongo(async (c) => ({
        headers: NO_STORE,
        body: await moderateSubtitle(publish, c, ctx.identity, ctx.params.id, ctx.body),
      })),
  });
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
 * The subtitles function wired from the environment (what index.ts registers). Events its writes leave
 * pending (the broker was down) are published by outbox-relay (`subtitleOutbox`), not by this service.
 */
export function subtitlesFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: SubtitleOverrides = {},
): HttpHandler {
  return createSubtitles(wireSubtitles('subtitles', env, overrides));
}
