import { createHash } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ObjectId } from 'mongodb';
import Type, { type Static } from 'typebox';
import { Language } from '../../events/schemas/common.ts';
import type { SubtitleUploadedV1 } from '../../events/schemas/subtitle-uploaded.ts';
import { asIsekaiError, Conflict, NotFound, ValidationFailed } from '../lib/errors.ts';
import type { EventTransport } from '../lib/events/transport.ts';
import type { Identity } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';
import { parseAnimeId } from '../lib/tracking/anime.ts';
import { convertAndCheck } from '../lib/validate.ts';
import { publishPending, subtitleEvent } from '../subtitles/events.ts';
import { parseCues } from '../subtitles/formats/convert.ts';
import { detectFormat, MEDIA_TYPES } from '../subtitles/formats/detect.ts';
import { decodeSubtitle } from '../subtitles/formats/encoding.ts';
import {
  isDuplicateKey,
  type SubtitleCollections,
  type SubtitleDoc,
  subtitleKey,
  subtitleView,
} from '../subtitles/store.ts';
import type { MultipartForm } from './multipart.ts';

export const SOURCE = '/functions/upload-subtitle';

const Text = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$' });

/** The text fields of `POST /uploads`. */
export const UploadFields = Type.Object(
  {
    /** A catalogue id, checked by the one anime-id parser (`parseAnimeId`). */
    animeId: Type.String({ minLength: 1, maxLength: 10 }),
    episode: Type.Integer({ minimum: 1, maximum: 10_000 }),
    language: Language,
    release: Type.Optional(Text(200)),
    notes: Type.Optional(Text(1024)),
  },
  { additionalProperties: false },
);
export type UploadFields = Static<typeof UploadFields>;

/** Whether an anime is in the catalogue (PostgreSQL, read only). */
export type AnimeExists = (animeId: number) => Promise<boolean>;

export interface UploadDeps {
  readonly runtime: Runtime;
  readonly collections: () => Promise<SubtitleCollections>;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly animeExists: AnimeExists;
  readonly send: EventTransport | undefined;
}

/** The validated, normalised upload: what is stored. */
export interface NormalisedSubtitle {
  readonly fields: UploadFields & { animeIdNumber: number };
  readonly bytes: Buffer;
  readonly format: SubtitleDoc['format'];
  readonly encoding: string;
  readonly sha256: string;
  readonly cues: number;
  readonly fileName: string | null;
}

/**
 * Check the form and normalise its file: fields (400 naming each), the file present and non-empty (400),
 * decoded to UTF-8 (415 for binary), a known format (415) that parses with at least one cue (422).
 */
export function normaliseUpload(form: MultipartForm): NormalisedSubtitle {
  const fields = convertAndCheck<UploadFields>(UploadFields, { ...form.fields }, '/body');
  const animeIdNumber = parseAnimeId(fields.animeId);
  if (animeIdNumber === undefined) {
    throw new ValidationFailed('animeId is not a catalogue id', {
      issues: [{ field: '/body/animeId', message: 'must be a catalogue id (a positive integer)' }],
    });
  }
  if (form.file?.field !== 'file') {
    throw new ValidationFailed('the form needs one file, in the field `file`', {
      issues: [{ field: '/body/file', message: 'required' }],
    });
  }
  if (form.file.bytes.length === 0) {
    throw new ValidationFailed('the file is empty', {
      issues: [{ field: '/body/file', message: 'is empty' }],
    });
  }
  const { text, encoding } = decodeSubtitle(form.file.bytes);
  const format = detectFormat(text);
  const cues = parseCues(text, format).length;
  const bytes = Buffer.from(text, 'utf8');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fileName = form.file.fileName?.replace(/[^\p{L}\p{N} ._()[\]-]/gu, '_').slice(0, 200) || null;
  return { fields: { ...fields, animeIdNumber }, bytes, format, encoding, sha256, cues, fileName };
}

const duplicate = (id: string) =>
  new Conflict(`this file is already stored as subtitle ${id}`, {
    issues: [{ field: '/body/file', message: `duplicate of subtitle ${id}` }],
  });

/**
 * Store an upload all or nothing: refuse a duplicate (409 naming the stored id) and an unknown anime
 * (404), put the object, then insert the document with its `uploaded` event in `pendingEvents` (one
 * single-document write). A failed insert deletes the object (no orphan). Then publish and pull the event;
 * what fails to publish stays pending for the relay.
 */
export async function storeUpload(
  deps: UploadDeps,
  identity: Identity,
  upload: NormalisedSubtitle,
  options: { traceparent?: string; now?: Date } = {},
) {
  const { subtitles } = await deps.collections();
  const { fields } = upload;
  const existing = await subtitles.findOne({ sha256: upload.sha256 }, { projection: { _id: 1 } });
  if (existing) throw duplicate(existing._id.toHexString());
  if (!(await deps.animeExists(fields.animeIdNumber))) {
    throw new NotFound(`anime ${fields.animeId} not found`, {
      issues: [{ field: '/body/animeId', message: 'no such anime in the catalogue' }],
    });
  }
  const id = new ObjectId();
  const key = subtitleKey(fields.animeIdNumber, id.toHexString(), upload.format);
  const createdAt = options.now ?? new Date();
  const data: SubtitleUploadedV1 = {
    subtitleId: id.toHexString(),
    animeId: fields.animeIdNumber,
    episode: fields.episode,
    language: fields.language,
    format: upload.format,
    uploaderId: identity.sub,
    sha256: upload.sha256,
    sizeBytes: upload.bytes.length,
    uploadedAt: createdAt.toISOString(),
  };
  const event = subtitleEvent('dev.isekai.subtitle.uploaded.v1', SOURCE, data, options.traceparent);
  const guard = deps.runtime.guard('s3', { attempts: 2, timeoutMs: 30_000 });
  await guard.run((abortSignal) =>
    deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.bucket,
        Key: key,
        Body: upload.bytes,
        ContentLength: upload.bytes.length,
        ContentType: MEDIA_TYPES[upload.format],
        Metadata: { sha256: upload.sha256, 'anime-id': fields.animeId },
      }),
      { abortSignal },
    ),
  );
  const doc: SubtitleDoc = {
    _id: id,
    animeId: fields.animeIdNumber,
    episode: fields.episode,
    language: fields.language,
    format: upload.format,
    encoding: upload.encoding,
    release: fields.release ?? null,
    notes: fields.notes ?? null,
    fileName: upload.fileName,
    key,
    sizeBytes: upload.bytes.length,
    sha256: upload.sha256,
    cues: upload.cues,
    uploaderId: identity.sub,
    uploaderName: identity.name ?? identity.username,
    status: 'published',
    downloads: 0,
    openReports: 0,
    createdAt,
    pendingEvents: [event],
  };
  try {
    await subtitles.insertOne(doc);
  } catch (error) {
    await guard
      .run((abortSignal) =>
        deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key: key }), { abortSignal }),
      )
      .catch((cleanup: unknown) =>
        deps.runtime.log.error(
          { code: asIsekaiError(cleanup).code, err: cleanup, key },
          'could not delete a subtitle object whose document failed',
        ),
      );
    if (isDuplicateKey(error)) {
      const winner = await subtitles.findOne({ sha256: upload.sha256 }, { projection: { _id: 1 } });
      if (winner) throw duplicate(winner._id.toHexString());
    }
    throw error;
  }
  await publishPending({ send: deps.send, log: deps.runtime.log }, subtitles, id, [event]);
  return subtitleView({ ...doc, pendingEvents: [] });
}
