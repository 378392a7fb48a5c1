import { createServer, type IncomingMessage } from 'node:http';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import { createS3 } from '../../functions/lib/data/s3.ts';
import { subtitlesFromEnv } from '../../functions/subtitles/subtitles.ts';
import { uploadSubtitleFromEnv } from '../../functions/upload-subtitle/upload-subtitle.ts';
import { caller, type Signer } from './caller.ts';
import { json, type Loose } from './http.ts';
import { listen, serveOnHost } from './tracking.ts';

/** The run's S3 (Ceph RGW) as a client, and a bucket of this test file's own (emptied and dropped after). */
export async function scratchBucket(env: Record<string, string>, label: string) {
  const s3: S3Client = createS3({
    endpoint: env.S3_ENDPOINT ?? '',
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
  });
  const bucket = `isekai-subtitles-${label}-${process.pid}-${Date.now().toString(36)}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const keys = async (prefix = '') =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(
      (o) => o.Key ?? '',
    );
  return {
    s3,
    bucket,
    keys,
    async drop() {
      const objects = (await keys()).map((Key) => ({ Key }));
      if (objects.length > 0)
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    },
  };
}

/** Settings of both subtitle functions in a test: the run's servers, a MongoDB database and bucket of its own. */
export function subtitleEnv(
  env: Record<string, string>,
  options: { database: string; bucket: string; sink?: string },
): Record<string, string> {
  return {
    DATABASE_URL: env.DATABASE_URL ?? '',
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: options.database,
    S3_ENDPOINT: env.S3_ENDPOINT ?? '',
    S3_REGION: env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? '',
    SUBTITLE_BUCKET: options.bucket,
    // The suite's Keycloak: the functions verify tokens as in production.
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...(options.sink ? { K_SINK: options.sink } : {}),
  };
}

/** What a local event sink received: headers and body of each POST. */
export interface Received {
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** A local event sink (binary or structured CloudEvents over HTTP); `down` makes it answer 503. */
export async function eventSink() {
  const received: Received[] = [];
  const state = { down: false };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.down) {
        res.writeHead(503).end('down');
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202).end();
    });
  });
  const served = await listen(server);
  return { url: served.url, close: served.close, received, state };
}

/** The fields of an upload besides the file. */
export type UploadForm = Record<string, string>;

/** POST /uploads as a browser would (multipart), as `user` with `roles`. */
export function uploader(tokens: Signer) {
  return async (
    base: string,
    user: string | undefined,
    fields: UploadForm,
    file: Uint8Array | undefined,
    options: { roles?: string[]; fileName?: string } = {},
  ): Promise<{ status: number; body: Loose }> => {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.set(name, value);
    if (file) form.set('file', new File([file], options.fileName ?? 'episode.srt'));
    const headers: Record<string, string> = {};
    if (user)
      headers.authorization = `Bearer ${await tokens.sign(user, { roles: options.roles ?? ['uploader'] })}`;
    const res = await fetch(`${base}/uploads`, { method: 'POST', headers, body: form });
    return {
      status: res.status,
      body: res.headers.get('content-type')?.includes('json') ? await json(res) : await res.text(),
    };
  };
}

/** A JSON call signed for `user` with `roles` (the shared client, test/support/caller.ts). */
export function roleCaller(tokens: Signer) {
  return (method: string, url: string, user?: string, roles?: string[], body?: unknown) =>
    caller(tokens, () => ({ roles: roles ?? ['viewer'] }))(method, url, user, body);
}

/** An SRT of `lines` cues whose text starts with `tag` (distinct tags → distinct files). */
export function srtOf(tag: string, lines = 2): string {
  return Array.from(
    { length: lines },
    (_, i) => `${i + 1}\n00:00:0${i + 1},000 --> 00:00:0${i + 1},900\n${tag} line ${i + 1}\n`,
  ).join('\n');
}

/**
 * Both subtitle functions on the lean host for one test file, wired as in production (tokens verified
 * against the suite's Keycloak): its own MongoDB database and bucket. `close()` stops both servers and
 * drops the database (the bucket is the caller's).
 */
export async function serveSubtitleFunctions(
  env: Record<string, string>,
  options: { database: string; bucket: string },
): Promise<{ uploads: string; subs: string; close: () => Promise<void> }> {
  const settings = subtitleEnv(env, options);
  const u = await serveOnHost('upload-subtitle', uploadSubtitleFromEnv(settings));
  const s = await serveOnHost('subtitles', subtitlesFromEnv(settings));
  return {
    uploads: u.url,
    subs: s.url,
    async close() {
      await u.close();
      await s.close();
      const client = new MongoClient(env.MONGO_URL ?? '');
      await client.db(options.database).dropDatabase();
      await client.close();
    },
  };
}
