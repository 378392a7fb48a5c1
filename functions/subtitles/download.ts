import type { Readable } from 'node:stream';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Type, { type Static } from 'typebox';
import { NotFound, ValidationFailed } from '../lib/errors.ts';
import type { Reply } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';
import { convertSubtitle } from '../lib/subtitles/formats/convert.ts';
import { MEDIA_TYPES, TARGET_FORMATS, type TargetFormat } from '../lib/subtitles/formats/detect.ts';
import { FrameRateSchema, fpsRatio } from '../lib/subtitles/formats/frame-rate.ts';
import { fromTwoPoints, type Retiming } from '../lib/subtitles/formats/timecode.ts';
import type { SubtitleCollections } from '../lib/subtitles/store.ts';
import { attachment, downloadFileName } from './file-name.ts';
import { publishedSubtitle } from './search.ts';

/** `GET /subtitles/:id/download` */
export const DownloadQuery = Type.Object(
  {
    format: Type.Optional(Type.Union(TARGET_FORMATS.map((f) => Type.Literal(f)))),
    /** Move every cue by this many milliseconds (negative: earlier; cues moved before 0 are dropped). */
    shift: Type.Optional(Type.Integer({ minimum: -36_000_000, maximum: 36_000_000 })),
    /** Frame-rate conversion: the rate the subtitle is timed to (default: the one given at upload), and the video's. */
    fromFps: Type.Optional(FrameRateSchema),
    toFps: Type.Optional(FrameRateSchema),
    /**
     * Sync by two reference points `s1:v1,s2:v2` (ms): subtitle times s1 and s2 land on video times v1
     * and v2, everything between stretched linearly. Not with shift or frame rates.
     */
    points: Type.Optional(Type.String({ pattern: '^\\d{1,9}:\\d{1,9},\\d{1,9}:\\d{1,9}$' })),
    /** The bytes exactly as uploaded (their own encoding); not with any other option. */
    original: Type.Optional(Type.Boolean()),
    /** Start the file with a UTF-8 BOM (some players and editors want one). */
    bom: Type.Optional(Type.Boolean()),
    /** Line endings (default LF). */
    eol: Type.Optional(Type.Union([Type.Literal('lf'), Type.Literal('crlf')])),
  },
  { additionalProperties: false },
);
export type DownloadQuery = Static<typeof DownloadQuery>;

export interface DownloadDeps {
  readonly runtime: Runtime;
  readonly s3: S3Client;
  readonly bucket: string;
}

const isMissingKey = (error: unknown) => (error as { name?: string } | null)?.name === 'NoSuchKey';

/** The retiming of `points=s1:v1,s2:v2`; 400 naming `/query/points` when it defines none. */
function syncPoints(points: string, combined: boolean): Retiming {
  const [a = 0, b = 0, c = 0, d = 0] = points.split(/[:,]/).map(Number);
  const timing = combined ? undefined : fromTwoPoints([a, b], [c, d]);
  if (!timing) {
    throw new ValidationFailed('the two points do not define a retiming', {
      issues: [
        {
          field: '/query/points',
          message: combined
            ? 'cannot be combined with shift or frame rates'
            : 'needs two different subtitle times, in the same order on the video',
        },
      ],
    });
  }
  return timing;
}

/**
 * A subtitle's file: streamed from S3 as stored (UTF-8) when nothing else is asked for, else read and
 * converted on the fly (format, timeshift, frame rate, BOM, CRLF). Counts the download (not a HEAD:
 * `count: false`). Removed → 410, unknown → 404.
 */
export async function downloadSubtitle(
  deps: DownloadDeps,
  collections: SubtitleCollections,
  rawId: string | undefined,
  query: DownloadQuery,
  options: { count?: boolean } = {},
): Promise<Reply> {
  if (query.original && Object.keys(query).some((k) => k !== 'original')) {
    throw new ValidationFailed('the original bytes come as uploaded, without conversion', {
      issues: [{ field: '/query/original', message: 'cannot be combined with other options' }],
    });
  }
  const doc = await publishedSubtitle(collections, rawId);
  const target: TargetFormat | undefined = query.format;
  const fromFps = query.fromFps ?? (query.toFps ? (doc.fps ?? undefined) : undefined);
  if ((fromFps === undefined) !== (query.toFps === undefined)) {
    const missing = fromFps === undefined ? 'fromFps' : 'toFps';
    throw new ValidationFailed('a frame-rate conversion needs both rates', {
      issues: [{ field: `/query/${missing}`, message: 'is required with the other frame rate' }],
    });
  }
  const timing: Retiming = query.points
    ? syncPoints(query.points, query.shift !== undefined || query.toFps !== undefined)
    : { shiftMs: query.shift ?? 0, ratio: fromFps && query.toFps ? fpsRatio(fromFps, query.toFps) : 1 };
  const asStored =
    (target === undefined || target === doc.format) &&
    timing.shiftMs === 0 &&
    timing.ratio === 1 &&
    !query.bom &&
    query.eol !== 'crlf';
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
      deps.s3.send(
        new GetObjectCommand({ Bucket: deps.bucket, Key: (query.original && doc.originalKey) || doc.key }),
      ),
    );
    const stream = answer.Body as Readable;
    if (asStored) {
      body = stream;
      length = answer.ContentLength;
    } else {
      const text = Buffer.from((await answer.Body?.transformToByteArray()) ?? []).toString('utf8');
      const converted = convertSubtitle(text, doc.format, target ?? doc.format, { timing });
      body = `${query.bom ? '\uFEFF' : ''}${query.eol === 'crlf' ? converted.replace(/\n/g, '\r\n') : converted}`;
      length = Buffer.byteLength(body);
    }
  } catch (error) {
    if (isMissingKey(error)) throw new NotFound(`the file of subtitle ${rawId} is no longer stored`);
    throw error;
  }
  if (options.count !== false)
    await collections.subtitles.updateOne({ _id: doc._id }, { $inc: { downloads: 1 } });
  const format = target ?? doc.format;

  return {
    headers: {
      'content-type': query.original
        ? MEDIA_TYPES[format].replace('utf-8', doc.encoding.toLowerCase())
        : MEDIA_TYPES[format],
      'content-disposition': attachment(downloadFileName(doc, format)),
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=300',
      ...(length !== undefined ? { 'content-length': String(length) } : {}),
    },
    body,
  };
}
