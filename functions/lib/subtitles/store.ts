import type { CloudEventV1 } from 'cloudevents';
import { type Collection, type Db, ObjectId } from 'mongodb';
import type { SubtitleReportedV1 } from '../../../events/schemas/subtitle-reported.ts';
import { PENDING_EVENTS_INDEX } from '../events/embedded-outbox.ts';
import type { GroupCredit } from '../groups/credits.ts';
import type { SubtitleFormat } from './formats/detect.ts';
import type { FrameRate } from './formats/frame-rate.ts';

/** A subtitle's metadata (collection `subtitles`); the file is the S3 object `key`. */
export interface SubtitleDoc {
  _id: ObjectId;
  animeId: number;
  /** The catalogue title at upload time (download file names). */
  animeTitle?: string;
  episode: number;
  /** The last episode of a file that covers several (null: just `episode`). */
  episodeTo?: number | null;
  language: string;
  format: SubtitleFormat;
  /** The encoding the upload arrived in (stored normalised as UTF-8). */
  encoding: string;
  release: string | null;
  notes: string | null;
  /** The frame rate of the video it is timed to, when the uploader said. */
  fps?: FrameRate | null;
  /** Hearing impaired (sound descriptions), foreign parts only (signs and foreign dialogue), machine translated. */
  flags?: SubtitleFlags;
  /** The release's video it is timed to, by OpenSubtitles hash (oshash.ts) and size in bytes. */
  video?: { hash: string; size: number | null } | null;
  fileName: string | null;
  key: string;
  /** The bytes as uploaded (`<id>.original`), when normalising changed them; else `key` is the original. */
  originalKey?: string | null;
  sizeBytes: number;
  /** sha256 of the normalised UTF-8 bytes (unique: the same file is stored once). */
  sha256: string;
  cues: number;
  uploaderId: string;
  uploaderName: string;
  /** The fansub group it was uploaded for, with its members' roles at upload time (credits). */
  group?: GroupCredit | null;
  /** The uploader is trusted (set by admins): marked, and sorted first. */
  trusted?: boolean;
  /** `hidden` is reversible (restore); `removed` is final. Only `published` is searched and served. */
  status: 'published' | 'hidden' | 'removed';
  downloads: number;
  /** Tally of `subtitle_votes` (recounted after every vote; absent until the first). */
  votes?: VoteTally;
  openReports: number;
  createdAt: Date;
  removedAt?: Date;
  removedBy?: string;
  removalNote?: string | null;
  /** Outbox embedded in the document: events written with the change, pulled once published. */
  pendingEvents: CloudEventV1<unknown>[];
}

/** A user's report of a subtitle (collection `subtitle_reports`). */
export interface ReportDoc {
  _id: ObjectId;
  subtitleId: string;
  animeId: number;
  episode: number;
  reporterId: string;
  /** The category (events/schemas/subtitle-reported.ts `ReportReason`). */
  reason: SubtitleReportedV1['reason'];
  details: string | null;
  status: 'open' | 'resolved';
  /** `<subtitleId>:<reporterId>` while open (unique, sparse: one open report per user and subtitle). */
  openKey?: string;
  resolution?: 'removed' | 'hidden' | 'kept';
  resolvedBy?: string;
  resolvedAt?: Date;
  note?: string | null;
  createdAt: Date;
  pendingEvents: CloudEventV1<unknown>[];
}

/** What a subtitle is, besides its language. */
export interface SubtitleFlags {
  hearingImpaired: boolean;
  foreignPartsOnly: boolean;
  machineTranslated: boolean;
}

/** Up and down votes of a subtitle and their difference (the `votes` sort). */
export interface VoteTally {
  up: number;
  down: number;
  score: number;
}

/** One user's vote on a subtitle (collection `subtitle_votes`; unique per subtitle and user). */
export interface VoteDoc {
  _id: ObjectId;
  subtitleId: ObjectId;
  userId: string;
  value: 1 | -1;
  createdAt: Date;
  updatedAt: Date;
}

/** One moderator action (collection `subtitle_audit`): who, when, what, why. Append-only. */
export interface AuditDoc {
  _id: ObjectId;
  subtitleId: ObjectId;
  uploaderId: string;
  action: 'remove' | 'hide' | 'restore' | 'keep';
  moderatorId: string;
  /** The moderator's account name (`preferred_username`) when the action was taken (absent on older entries). */
  moderatorName?: string;
  note: string | null;
  from: SubtitleDoc['status'];
  to: SubtitleDoc['status'];
  resolvedReports: number;
  at: Date;
}

/** An uploader admins marked trusted (collection `subtitle_uploaders`, `_id` = user id). */
export interface UploaderDoc {
  _id: string;
  trusted: boolean;
  updatedBy: string;
  updatedAt: Date;
}

export interface SubtitleCollections {
  readonly subtitles: Collection<SubtitleDoc>;
  readonly reports: Collection<ReportDoc>;
  readonly votes: Collection<VoteDoc>;
  readonly uploaders: Collection<UploaderDoc>;
  readonly audit: Collection<AuditDoc>;
}

/** Names of the collections whose documents embed pending events (`pendingEvents`). */
export const SUBTITLES = 'subtitles';
export const SUBTITLE_REPORTS = 'subtitle_reports';

/** The collections, with their indexes created (idempotent; run once at start-up). */
export async function openCollections(db: Db): Promise<SubtitleCollections> {
  const subtitles = db.collection<SubtitleDoc>(SUBTITLES);
  const reports = db.collection<ReportDoc>(SUBTITLE_REPORTS);
  const votes = db.collection<VoteDoc>('subtitle_votes');
  const uploaders = db.collection<UploaderDoc>('subtitle_uploaders');
  const audit = db.collection<AuditDoc>('subtitle_audit');
  await Promise.all([
    subtitles.createIndex(
      { status: 1, trusted: -1, 'votes.score': -1, createdAt: -1 },
      { name: 'status_votes' },
    ),
    subtitles.createIndex({ uploaderId: 1 }, { name: 'uploader' }),
    subtitles.createIndex({ status: 1, downloads: -1, createdAt: -1 }, { name: 'status_downloads' }),
    subtitles.createIndex({ 'video.hash': 1 }, { name: 'video_hash', sparse: true }),
    audit.createIndex({ subtitleId: 1, at: -1 }, { name: 'subtitle_at' }),
    audit.createIndex({ uploaderId: 1, at: -1 }, { name: 'uploader_at' }),
    votes.createIndex({ subtitleId: 1, userId: 1 }, { name: 'vote_unique', unique: true }),
    votes.createIndex({ subtitleId: 1, value: 1 }, { name: 'subtitle_value' }),
    subtitles.createIndex({ animeId: 1, episode: 1, language: 1 }, { name: 'anime_episode_language' }),
    subtitles.createIndex({ sha256: 1 }, { name: 'sha256_unique', unique: true }),
    reports.createIndex({ openKey: 1 }, { name: 'open_report_unique', unique: true, sparse: true }),
    reports.createIndex({ status: 1, createdAt: 1 }, { name: 'status_created' }),
    // outbox-relay's claim and backlog (functions/lib/events/embedded-outbox.ts): documents with pending events.
    subtitles.createIndex(PENDING_EVENTS_INDEX.key, PENDING_EVENTS_INDEX.options),
    reports.createIndex(PENDING_EVENTS_INDEX.key, PENDING_EVENTS_INDEX.options),
  ]);
  return { subtitles, reports, votes, uploaders, audit };
}

/** The ObjectId of a path id, or undefined when it is not one (→ 404). */
export function objectIdOf(raw: string | undefined): ObjectId | undefined {
  return raw && /^[0-9a-f]{24}$/.test(raw) ? new ObjectId(raw) : undefined;
}

/** Whether a MongoDB error is a unique-index violation. */
export const isDuplicateKey = (error: unknown): boolean =>
  (error as { code?: number } | null)?.code === 11000;

/** The public view of a subtitle. */
export function subtitleView(doc: SubtitleDoc) {
  return {
    id: doc._id.toHexString(),
    animeId: doc.animeId,
    episode: doc.episode,
    episodeTo: doc.episodeTo ?? null,
    language: doc.language,
    format: doc.format,
    encoding: doc.encoding,
    release: doc.release,
    notes: doc.notes,
    fps: doc.fps ?? null,
    flags: doc.flags ?? { hearingImpaired: false, foreignPartsOnly: false, machineTranslated: false },
    video: doc.video ?? null,
    fileName: doc.fileName,
    sizeBytes: doc.sizeBytes,
    sha256: doc.sha256,
    cues: doc.cues,
    uploader: { id: doc.uploaderId, name: doc.uploaderName, trusted: doc.trusted ?? false },
    /** Credits: the group it was uploaded for and its members' roles (null: not a group release). */
    group: doc.group ?? null,
    status: doc.status,
    downloads: doc.downloads,
    votes: doc.votes ?? { up: 0, down: 0, score: 0 },
    createdAt: doc.createdAt.toISOString(),
  };
}

/** S3 key of a subtitle file: `subtitles/<animeId>/<id>.<ext>`. */
export const subtitleKey = (animeId: number, id: string, format: SubtitleFormat): string =>
  `subtitles/${animeId}/${id}.${format}`;
