import { loadConfig, Type } from '../lib/config.ts';
import { createPostgres } from '../lib/data/postgres.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { Authenticator, Identity, Reply, Route } from '../lib/http/types.ts';
import { traceparentOf } from '../lib/tracing/trace-headers.ts';
import { mongoFault, type SubtitleOverrides, wireSubtitles } from '../subtitles/wiring.ts';
import { readMultipart } from './multipart.ts';
import { normaliseUpload, storeUpload, type UploadDeps } from './upload.ts';
import { isZip } from './zip.ts';
import { uploadZip } from './zip-upload.ts';

/** Largest subtitle file accepted (Jimaku's tested cap; nginx allows the same on /uploads). */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;

/** What upload-subtitle reads besides the shared subtitle settings. */
export const UploadSettings = Type.Object({
  /** The catalogue (read only): an upload names an anime that must exist. */
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
});

/** upload-subtitle's one route: `POST /uploads` (multipart: `file` + animeId, episode, language, release?, notes?). */
export function uploadRoutes(deps: UploadDeps): Route<never, never>[] {
  const route = {
    method: 'POST',
    path: '/uploads',
    access: { roles: ['uploader', 'moderator', 'admin'] },
    handle: async (ctx) => {
      const form = await readMultipart(ctx.req, { fileBytes: MAX_FILE_BYTES });
      const traceparent = traceparentOf(deps.runtime.tracing.tracer.id);
      if (form.file && isZip(form.file.bytes)) {
        try {
          const result = await uploadZip(
            deps,
            ctx.identity as Identity,
            { ...form, file: form.file },
            { traceparent },
          );
          const reply: Reply = { status: 207, headers: { 'cache-control': 'no-store' }, body: result };
          return reply;
        } catch (error) {
          throw mongoFault(error);
        }
      }
      const upload = normaliseUpload(form);
      try {
        const subtitle = await storeUpload(deps, ctx.identity as Identity, upload, { traceparent });
        return {
          status: 201,
          headers: { location: `/subtitles/${subtitle.id}`, 'cache-control': 'no-store' },
          body: subtitle,
        };
      } catch (error) {
        throw mongoFault(error);
      }
    },
  } satisfies Route;
  return [route] as Route<never, never>[];
}

/** The upload-subtitle function from its dependencies. */
export function createUploadSubtitle(deps: UploadDeps & { authenticate: Authenticator }): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: uploadRoutes(deps),
    authenticate: deps.authenticate,
  });
}

/** The upload-subtitle function wired from the environment (what index.ts registers). */
export function uploadSubtitleFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: SubtitleOverrides = {},
): HttpHandler {
  const { DATABASE_URL } = loadConfig(UploadSettings, env);
  const deps = wireSubtitles('upload-subtitle', env, overrides);
  const db = createPostgres(deps.runtime, { url: DATABASE_URL, max: 4 });
  const findAnime = async (animeId: number) =>
    (
      await db.query<{ title: string; episodes: number | null }>(
        'select title, episodes from anime where id = $1',
        [animeId],
      )
    ).rows[0];
  return createUploadSubtitle({ ...deps, findAnime });
}
