import { loadConfig, Type } from '../lib/config.ts';
import { createPostgres } from '../lib/data/postgres.ts';
import { groupCredit } from '../lib/groups/credits.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute, Authenticator, Reply } from '../lib/http/types.ts';
import { mongoFault, type SubtitleOverrides, wireSubtitles } from '../lib/subtitles/wiring.ts';
import { MAX_FILE_BYTES, UploadSubtitleApi } from './api.ts';
import { readMultipart } from './multipart.ts';
import { normaliseUpload, storeUpload, type UploadDeps } from './upload.ts';
import { isZip } from './zip.ts';
import { uploadZip } from './zip-upload.ts';

/** What upload-subtitle reads besides the shared subtitle settings. */
export const UploadSettings = Type.Object({
  /** The catalogue (read only): an upload names an anime that must exist. */
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
});

/** upload-subtitle's one route: `POST /uploads` (multipart: `file` — a subtitle or a zip of them — and its fields). */
export function uploadRoutes(deps: UploadDeps): AnyRoute[] {
  return implement(UploadSubtitleApi, {
    uploadSubtitle: async (ctx) => {
      const form = await readMultipart(ctx.req, { fileBytes: MAX_FILE_BYTES });
      if (form.file && isZip(form.file.bytes)) {
        // A zip: each file stored with its own verdict (207).
        try {
          const result = await uploadZip(deps, ctx.identity, { ...form, file: form.file });
          const reply: Reply = { status: 207, headers: { 'cache-control': 'no-store' }, body: result };
          return reply;
        } catch (error) {
          throw mongoFault(error);
        }
      }
      const upload = normaliseUpload(form);
      try {
        const subtitle = await storeUpload(deps, ctx.identity, upload);
        return {
          status: 201,
          headers: { location: `/subtitles/${subtitle.id}`, 'cache-control': 'no-store' },
          body: subtitle,
        };
      } catch (error) {
        throw mongoFault(error);
      }
    },
  });
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
  const findCredit = (groupId: string, userId: string) => groupCredit(db, groupId, userId);
  return createUploadSubtitle({ ...deps, findAnime, findCredit });
}
