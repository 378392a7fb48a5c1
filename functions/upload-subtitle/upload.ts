import { createHash } from 'node:crypto';
import { DeleteObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { ObjectId } from 'mongodb';
import Type, { type Static } from 'typebox';
import { Language } from '../../events/schemas/common.ts';
import type { SubtitleUploadedV1 } from '../../events/schemas/subtitle-uploaded.ts';
import { asIsekaiError, Conflict, Forbidden, NotFound, ValidationFailed } from '../lib/errors.ts';
import { publishPending } from '../lib/events/embedded-outbox.ts';
import { newEvent } from '../lib/events/new-event.ts';
import type { EventTransport } from '../lib/events/transport.ts';
import type { GroupCredit } from '../lib/groups/credits.ts';
import type { Identity } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';
import { readSubtitle } from '../lib/subtitles/formats/convert.ts';
import { detectFormat, MEDIA_TYPES } from '../lib/subtitles/formats/detect.ts';
import { decodeSubtitle } from '../lib/subtitles/formats/encoding.ts';
import { FrameRateSchema } from '../lib/subtitles/formats/frame-rate.ts';
import {
  isDuplicateKey,
  type SubtitleCollections,
  type SubtitleDoc,
  subtitleKey,
  subtitleView,
} from '../lib/subtitles/store.ts';
import { isTrusted } from '../lib/subtitles/uploaders.ts';
import { parseAnimeId } from '../lib/tracking/anime.ts';
import { convertAndCheck } from '../lib/validate.ts';
import type { MultipartForm } from './multipart.ts';

const Text = (maxLength: number) =>
  Type.String({ minLength: 1, maxLength, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$' });

/** The text fields of `POST /uploads`. */
export const UploadFields = Type.Object(
  {
    /** A catalogue id, checked by the one anime-id parser (`parseAnimeId`). */
    animeId: Type.String({ minLength: 1, maxLength: 10 }),
    episode: Type.Integer({ minimum: 1, maximum: 10_000 }),
    /** The last episode when one file covers several (a double episode, a recap): `episode`–`episodeTo`. */
    episodeTo: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    language: Language,
    release: Type.Optional(Text(200)),
    notes: Type.Optional(Text(1024)),
    /** The frame rate of the video it is timed to. */
    fps: Type.Optional(FrameRateSchema),
    hearingImpaired: Type.Optional(Type.Boolean()),
    foreignPartsOnly: Type.Optional(Type.Boolean()),
    machineTranslated: Type.Optional(Type.Boolean()),
    /** OpenSubtitles hash of the video file it is timed to (16 hex digits) and the file's size. */
    videoHash: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{16}$' })),
    videoSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 })),
    /** Uploaded for this fansub group (the uploader must be a member): credited with its members' roles. */
    groupId: Type.Optional(Type.String({ format: 'uuid' })),
  },
  { additionalProperties: false },
);
export type UploadFields = Static<typeof UploadFields>;

/** An anime of the catalogue as an upload needs it: its title (file names) and episode count (null: unknown). */
export interface CatalogueAnime {
  readonly title: string;
  readonly episodes: number | null;
}

/** An anime from the catalogue (PostgreSQL, read only), or undefined when there is none. */
export type FindAnime = (animeId: number) => Promise<CatalogueAnime | undefined>;

export interface UploadDeps {
  readonly runtime: Runtime;
  readonly collections: () => Promise<SubtitleCollections>;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly findAnime: FindAnime;
  /** The credit of a group for an upload by this user; undefined when not a member (absent: groups unknown). */
  readonly findCredit?: (groupId: string, userId: string) => Promise<GroupCredit | undefined>;
  readonly send: EventTransport | undefined;
}

/** The validated, normalised upload: what is stored. */
export interface NormalisedSubtitle {
  readonly fields: UploadFields & { animeIdNumber: number };
  readonly bytes: Buffer;
  /** The bytes as uploaded (kept beside the normalised copy when they differ). */
  readonly original: Buffer;
  readonly format: SubtitleDoc['format'];
  readonly encoding: string;
  readonly sha256: string;
  readonly cues: number;
  readonly fileName: string | null;
  /** What was skipped reading the file (padding, junk blocks): reported to the uploader, not fatal. */
  readonly warnings: string[];
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
  if (fields.episodeTo !== undefined && fields.episodeTo < fields.episode) {
    throw new ValidationFailed('episodeTo is before episode', {
      issues: [{ field: '/body/episodeTo', message: 'must be at least episode' }],
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
  const decoded = decodeSubtitle(form.file.bytes, fields.language);
  const { text, encoding } = decoded;
  const format = detectFormat(text);
  const parsed = readSubtitle(text, format);
  const cues = parsed.cues.length;
  const warnings = [...decoded.warnings, ...parsed.warnings];
  const bytes = Buffer.from(text, 'utf8');
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const fileName = form.file.fileName?.replace(/[^\p{L}\p{N} ._()[\]-]/gu, '_').slice(0, 200) || null;
  return {
    fields: { ...fields, animeIdNumber },
    bytes,
    original: form.file.bytes,
    format,
    encoding,
    sha256,
    cues,
    fileName,
    warnings,
  };
}

const duplicate = (id: string) =>
  new Conflict(`this file is already stored as subtitle ${id}`, {
    issues: [{ field: '/body/file', message: `duplicate of subtitle ${id}` }],
  });

/**
 * Store an upload all or nothing: refuse an unknown anime (404), an episode past its count (400), then a
 * duplicate (409 naming the stored id); put the objects (the bytes as uploaded when normalising changed
 * them, then the normalised copy), then insert the document with its `uploaded` event in `pendingEvents` (one
 * single-document write). A failed insert deletes the object (no orphan). Then publish and pull the event;
 * what fails to publish stays pending for the relay.
 */
export async function storeUpload(
  deps: UploadDeps,
  identity: Identity,
  upload: NormalisedSubtitle,
  options: { now?: Date } = {},
) {
  const { subtitles } = await deps.collections();
  const { fields } = upload;
  // The request's own faults first (unknown anime, episode past the end), then the duplicate: a 409 must not
  // hide a 404/400 the uploader has to fix anyway.
  const anime = await deps.findAnime(fields.animeIdNumber);
  if (!anime) {
    throw new NotFound(`anime ${fields.animeId} not found`, {
      issues: [{ field: '/body/animeId', message: 'no such anime in the catalogue' }],
    });
  }
  for (const field of ['episode', 'episodeTo'] as const) {
    const n = fields[field];
    if (anime.episodes !== null && n !== undefined && n > anime.episodes) {
      throw new ValidationFailed(`episode ${n} is past the last episode (${anime.episodes})`, {
        issues: [{ field: `/body/${field}`, message: `must be at most ${anime.episodes}` }],
      });
    }
  }
  const group = fields.groupId ? await deps.findCredit?.(fields.groupId, identity.sub) : undefined;
  if (fields.groupId && !group)
    throw new Forbidden(`you are not a member of group ${fields.groupId}: only members upload for a group`, {
      issues: [{ field: '/body/groupId', message: 'the uploader must be a member of this group' }],
    });
  const existing = await subtitles.findOne({ sha256: upload.sha256 }, { projection: { _id: 1 } });
  if (existing) throw duplicate(existing._id.toHexString());
  const trusted = await isTrusted(await deps.collections(), identity);
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
  const event = newEvent('dev.isekai.subtitle.uploaded.v1', data);
  const guard = deps.runtime.guard('s3', { attempts: 2, timeoutMs: 30_000 });
  // The bytes as uploaded, when normalising changed them (encoding, BOM, line endings, padding).
  const originalKey = upload.original.equals(upload.bytes)
    ? null
    : `${key.replace(/\.[a-z]+$/, '')}.original`;
  const put = (Key: string, Body: Buffer, ContentType: string) =>
    guard.run((abortSignal) =>
      deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.bucket,
          Key,
          Body,
          ContentLength: Body.length,
          ContentType,
          Metadata: { sha256: upload.sha256, 'anime-id': fields.animeId },
        }),
        { abortSignal },
      ),
    );
  const removeObjects = (keys: readonly string[]) =>
    Promise.all(
      keys.map((Key) =>
        guard
          .run((abortSignal) =>
            deps.s3.send(new DeleteObjectCommand({ Bucket: deps.bucket, Key }), { abortSignal }),
          )
          .catch((cleanup: unknown) =>
            deps.runtime.log.error(
              { code: asIsekaiError(cleanup).code, err: cleanup, key: Key },
              'could not delete a subtitle object whose document failed',
            ),
          ),
      ),
    );
  if (originalKey) await put(originalKey, upload.original, 'application/octet-stream');
  try {
    await put(key, upload.bytes, MEDIA_TYPES[upload.format]);
  } catch (error) {
    if (originalKey) await removeObjects([originalKey]);
    throw error;
  }
  const doc: SubtitleDoc = {
    _id: id,
    animeId: fields.animeIdNumber,
    animeTitle: anime.title,
    episode: fields.episode,
    episodeTo: fields.episodeTo ?? null,
    language: fields.language,
    format: upload.format,
    encoding: upload.encoding,
    release: fields.release ?? null,
    notes: fields.notes ?? null,
    fps: fields.fps ?? null,
    flags: {
      hearingImpaired: fields.hearingImpaired ?? false,
      foreignPartsOnly: fields.foreignPartsOnly ?? false,
      machineTranslated: fields.machineTranslated ?? false,
    },
    video: fields.videoHash ? { hash: fields.videoHash.toLowerCase(), size: fields.videoSize ?? null } : null,
    fileName: upload.fileName,
    key,
    originalKey,
    sizeBytes: upload.bytes.length,
    sha256: upload.sha256,
    cues: upload.cues,
    uploaderId: identity.sub,
    uploaderName: identity.name ?? identity.username,
    trusted,
    ...(group ? { group } : {}),
    status: 'published',
    downloads: 0,
    openReports: 0,
    createdAt,
    pendingEvents: [event],
  };
  try {
    await subtitles.insertOne(doc);
  } catch (error) {
    await removeObjects(originalKey ? [key, originalKey] : [key]);
    if (isDuplicateKey(error)) {
      const winner = await subtitles.findOne({ sha256: upload.sha256 }, { projection: { _id: 1 } });
      if (winner) throw duplicate(winner._id.toHexString());
    }
    throw error;
  }
  await publishPending({ send: deps.send, log: deps.runtime.log }, subtitles, id, [event]);
  return { ...subtitleView({ ...doc, pendingEvents: [] }), warnings: upload.warnings };
}
