import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Type, { type Static } from 'typebox';
import { NotFound } from '../lib/errors.ts';
import type { Reply } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';
import { convertSubtitle } from './formats/convert.ts';
import { MEDIA_TYPES, TARGET_FORMATS, type TargetFormat } from './formats/detect.ts';
import { publishedSubtitle } from './search.ts';
import type { SubtitleCollections } from './store.ts';

/** `GET /subtitles/:id/download` */
export const DownloadQuery = Type.Object(
  { format: Type.Optional(Type.Union(TARGET_FORMATS.map((f) => Type.Literal(f)))) },
  { additionalProperties: false },
);
export type DownloadQuery = Static<typeof DownloadQuery>;

export interface DownloadDeps {
  readonly runtime: Runtime;
  readonly s3: S3Client;
  readonly bucket: string;
}

const isMissingKey = (error: unknown) => (error as { name?: string } | null)?.name === 'NoSuchKey';

/**
 * A subtitle's file: streamed from S3 as stored (UTF-8) when no other format is asked for, else read and
 * converted on the fly. Counts the download (not a HEAD: `count: false`). Removed → 410, unknown → 404.
 */
export async function downloadSubtitle(
  deps: DownloadDeps,
  collections: SubtitleCollections,
  rawId: string | undefined,
  query: DownloadQuery,
  options: { count?: boolean } = {},
): Promise<Reply> {
  const doc = await publishedSubtitle(collections, rawId);
  const target: TargetFormat | undefined = query.format;
  const guard = deps.runtime.guard('s3', {
    attempts: 2,
    timeoutMs: 15_000,
    isFault: (e) => !isMissingKey(e),
  });
  let body: Readable | string;
  let length: number | undefined;
  try {
    // The object is opened inside the guard (headers received) and streamed outside it: no abort signal,
    // which the guard fires when its call returns.
    const answer = await guard.run(() =>
      deps.s3.send(new GetObjectCommand({ Bucket: deps.bucket, Key: doc.key })),
    );
    const stream = answer.Body as Readable;
    if (target === undefined || target === doc.format) {
      body = stream;
      length = answer.ContentLength;
    } else {
      const text = Buffer.from((await answer.Body?.transformToByteArray()) ?? []).toString('utf8');
      body = convertSubtitle(text, doc.format, target);
    }
  } catch (error) {
    if (isMissingKey(error)) throw new NotFound(`the file of subtitle ${rawId} is no longer stored`);
    throw error;
  }
  if (options.count !== false)
    await collections.subtitles.updateOne({ _id: doc._id }, { $inc: { downloads: 1 } });
  const format = target ?? doc.format;
  const name = `${doc.animeId}-e${doc.episode}.${doc.language}.${format}`;
  return {
    headers: {
      'content-type': MEDIA_TYPES[format],
      'content-disposition': `attachment; filename="${name}"`,
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=300',
      ...(length !== undefined ? { 'content-length': String(length) } : {}),
    },
    body,
  };
}
