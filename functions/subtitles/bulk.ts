import { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import Type, { type Static } from 'typebox';
import yazl from 'yazl';
import { Language } from '../../events/schemas/common.ts';
import { NotFound, PayloadTooLarge, ValidationFailed } from '../lib/errors.ts';
import type { Reply } from '../lib/http/types.ts';
import { convertSubtitle } from '../lib/subtitles/formats/convert.ts';
import { TARGET_FORMATS } from '../lib/subtitles/formats/detect.ts';
import type { SubtitleCollections, SubtitleDoc } from '../lib/subtitles/store.ts';
import type { DownloadDeps } from './download.ts';
import { attachment, downloadFileName } from './file-name.ts';

/** Most bytes one bulk download may hold (the sum of the stored files). */
export const BULK_MAX_BYTES = 64 * 1024 * 1024;

/** `GET /subtitles/bulk` */
export const BulkQuery = Type.Object(
  {
    anime: Type.Integer({ minimum: 1, maximum: 2_147_483_647 }),
    language: Language,
    from: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    to: Type.Integer({ minimum: 1, maximum: 10_000, default: 10_000 }),
    format: Type.Optional(Type.Union(TARGET_FORMATS.map((f) => Type.Literal(f)))),
  },
  { additionalProperties: false },
);
export type BulkQuery = Static<typeof BulkQuery>;

/**
 * The best subtitle of each episode in a range, for one anime and language, as a zip streamed as it is
 * written (one S3 object open at a time, never the whole archive in memory). Best: trusted uploaders
 * first, then votes, then downloads. Refused before anything is sent past BULK_MAX_BYTES (413); none
 * found → 404. Counts a download of each file.
 */
export async function bulkDownload(
  deps: DownloadDeps,
  { subtitles }: SubtitleCollections,
  query: BulkQuery,
): Promise<Reply> {
  if (query.to < query.from) {
    throw new ValidationFailed('the episode range is empty', {
      issues: [{ field: '/query/to', message: 'must be at least from' }],
    });
  }
  const candidates = await subtitles
    .find(
      {
        status: 'published',
        animeId: query.anime,
        language: query.language,
        episode: { $gte: query.from, $lte: query.to },
      },
      { projection: { pendingEvents: 0 } },
    )
    .sort({ episode: 1, trusted: -1, 'votes.score': -1, downloads: -1, createdAt: -1 })
    .toArray();
  const best = new Map<number, SubtitleDoc>();
  for (const doc of candidates) if (!best.has(doc.episode)) best.set(doc.episode, doc);
  const chosen = [...best.values()];
  if (chosen.length === 0) throw new NotFound('no subtitles for that anime, language and episode range');
  const total = chosen.reduce((sum, d) => sum + d.sizeBytes, 0);
  if (total > BULK_MAX_BYTES)
    throw new PayloadTooLarge(
      BULK_MAX_BYTES,
      `the zip would hold ${total} bytes of subtitles, over the limit of ${BULK_MAX_BYTES}: ask for fewer episodes`,
    );
  const zip = new yazl.ZipFile();
  for (const doc of chosen) {
    const format = query.format ?? doc.format;
    zip.addReadStreamLazy(downloadFileName(doc, format), { mtime: doc.createdAt }, (done) => {
      // Opened only when the archive reaches this file.
      deps.s3
        .send(new GetObjectCommand({ Bucket: deps.bucket, Key: doc.key }))
        .then(async (answer) => {
          const body = answer.Body as Readable;
          if (format === doc.format) return done(null, body);
          const text = Buffer.from((await answer.Body?.transformToByteArray()) ?? []).toString('utf8');
          done(null, Readable.from([Buffer.from(convertSubtitle(text, doc.format, format))]));
        })
        .catch((error: unknown) => done(error, Readable.from([])));
    });
  }
  zip.end();
  await subtitles.updateMany({ _id: { $in: chosen.map((d) => d._id) } }, { $inc: { downloads: 1 } });
  const first = chosen[0] as SubtitleDoc;
  const last = chosen[chosen.length - 1] as SubtitleDoc;
  const pad = (n: number) => String(n).padStart(2, '0');
  const range =
    first.episode === last.episode ? pad(first.episode) : `${pad(first.episode)}-${pad(last.episode)}`;
  const name = downloadFileName({ ...first, release: null, uploaderName: '' }, 'zip', range);
  return {
    headers: {
      'content-type': 'application/zip',
      'content-disposition': attachment(name),
      'cache-control': 'no-store',
    },
    body: zip.outputStream as Readable,
  };
}
