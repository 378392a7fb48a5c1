import { ObjectId } from 'mongodb';
import Type, { type Static } from 'typebox';
import type { SubtitleRemovedV1 } from '../../events/schemas/subtitle-removed.ts';
import { ReportReason, type SubtitleReportedV1 } from '../../events/schemas/subtitle-reported.ts';
import { Conflict, Gone, NotFound } from '../lib/errors.ts';
import type { Identity } from '../lib/http/types.ts';
import { type PublishDeps, publishPending, subtitleEvent } from './events.ts';
import { publishedSubtitle } from './search.ts';
import {
  isDuplicateKey,
  objectIdOf,
  type ReportDoc,
  type SubtitleCollections,
  subtitleView,
} from './store.ts';

export const SOURCE = '/functions/subtitles';

const Note = Type.String({ maxLength: 1000, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$' });

/** `POST /subtitles/:id/reports` */
export const ReportInput = Type.Object(
  { reason: ReportReason, details: Type.Optional(Note) },
  { additionalProperties: false },
);
export type ReportInput = Static<typeof ReportInput>;

/** `POST /subtitles/:id/moderation` */
export const ModerationInput = Type.Object(
  { action: Type.Union([Type.Literal('remove'), Type.Literal('keep')]), note: Type.Optional(Note) },
  { additionalProperties: false },
);
export type ModerationInput = Static<typeof ModerationInput>;

/** `GET /subtitles/reports` */
export const ReportsQuery = Type.Object(
  {
    status: Type.Union([Type.Literal('open'), Type.Literal('resolved')], { default: 'open' }),
    page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    perPage: Type.Integer({ minimum: 1, maximum: 100, default: 50 }),
  },
  { additionalProperties: false },
);
export type ReportsQuery = Static<typeof ReportsQuery>;

function reportView(doc: ReportDoc) {
  return {
    id: doc._id.toHexString(),
    subtitleId: doc.subtitleId,
    animeId: doc.animeId,
    episode: doc.episode,
    reporterId: doc.reporterId,
    reason: doc.reason,
    details: doc.details,
    status: doc.status,
    resolution: doc.resolution ?? null,
    createdAt: doc.createdAt.toISOString(),
  };
}

/**
 * Report a published subtitle: one open report per user and subtitle (a second → 409). The report and its
 * `reported` event are one document write; the event is then published (or left for the relay).
 */
export async function reportSubtitle(
  deps: PublishDeps,
  collections: SubtitleCollections,
  identity: Identity,
  rawId: string | undefined,
  input: ReportInput,
  traceparent?: string,
) {
  const subtitle = await publishedSubtitle(collections, rawId);
  const subtitleId = subtitle._id.toHexString();
  const id = new ObjectId();
  const createdAt = new Date();
  const data: SubtitleReportedV1 = {
    reportId: id.toHexString(),
    subtitleId,
    animeId: subtitle.animeId,
    episode: subtitle.episode,
    uploaderId: subtitle.uploaderId,
    reporterId: identity.sub,
    reason: input.reason,
    ...(input.details ? { comment: input.details } : {}),
    reportedAt: createdAt.toISOString(),
  };
  const event = subtitleEvent('dev.isekai.subtitle.reported.v1', SOURCE, data, traceparent);
  const doc: ReportDoc = {
    _id: id,
    subtitleId,
    animeId: subtitle.animeId,
    episode: subtitle.episode,
    reporterId: identity.sub,
    reason: input.reason,
    details: input.details ?? null,
    status: 'open',
    openKey: `${subtitleId}:${identity.sub}`,
    createdAt,
    pendingEvents: [event],
  };
  try {
    await collections.reports.insertOne(doc);
  } catch (error) {
    if (isDuplicateKey(error)) throw new Conflict('you already have an open report on this subtitle');
    throw error;
  }
  await collections.subtitles.updateOne({ _id: subtitle._id }, { $inc: { openReports: 1 } });
  await publishPending(deps, collections.reports, id, [event]);
  return reportView(doc);
}

/** The moderators' queue: reports (open by default, oldest first) with the subtitle they are about. */
export async function listReports({ reports, subtitles }: SubtitleCollections, query: ReportsQuery) {
  const filter = { status: query.status };
  const [docs, total] = await Promise.all([
    reports
      .find(filter, { projection: { pendingEvents: 0 } })
      .sort({ createdAt: query.status === 'open' ? 1 : -1, _id: 1 })
      .skip((query.page - 1) * query.perPage)
      .limit(query.perPage)
      .toArray(),
    reports.countDocuments(filter),
  ]);
  const ids = [...new Set(docs.map((d) => d.subtitleId))].map((s) => new ObjectId(s));
  const found = await subtitles.find({ _id: { $in: ids } }, { projection: { pendingEvents: 0 } }).toArray();
  const byId = new Map(found.map((s) => [s._id.toHexString(), subtitleView(s)]));
  return {
    items: docs.map((d) => ({ ...reportView(d), subtitle: byId.get(d.subtitleId) ?? null })),
    page: query.page,
    perPage: query.perPage,
    total,
  };
}

/**
 * A moderator's decision on a subtitle. `remove`: status → removed (the object is kept for the record and
 * any appeal; downloads answer 410, search hides it) with the `removed` event in the same document write;
 * `keep`: nothing changes but the open reports. Either way its open reports are resolved.
 */
export async function moderateSubtitle(
  deps: PublishDeps,
  collections: SubtitleCollections,
  identity: Identity,
  rawId: string | undefined,
  input: ModerationInput,
  traceparent?: string,
) {
  const { subtitles, reports } = collections;
  const id = objectIdOf(rawId);
  const current = id ? await subtitles.findOne({ _id: id }, { projection: { pendingEvents: 0 } }) : null;
  if (!id || !current) throw new NotFound(`subtitle ${rawId} not found`);
  if (current.status === 'removed') throw new Gone(`subtitle ${rawId} was already removed`);
  const now = new Date();
  const note = input.note ?? null;
  let event: ReturnType<typeof subtitleEvent<SubtitleRemovedV1>> | undefined;
  if (input.action === 'remove') {
    const data: SubtitleRemovedV1 = {
      subtitleId: id.toHexString(),
      animeId: current.animeId,
      episode: current.episode,
      uploaderId: current.uploaderId,
      removedBy: identity.sub,
      reason: 'moderation',
      ...(note ? { note } : {}),
      removedAt: now.toISOString(),
    };
    event = subtitleEvent('dev.isekai.subtitle.removed.v1', SOURCE, data, traceparent);
    const changed = await subtitles.updateOne(
      { _id: id, status: 'published' },
      {
        $set: { status: 'removed', removedAt: now, removedBy: identity.sub, removalNote: note },
        $push: { pendingEvents: event },
      },
    );
    if (changed.matchedCount === 0) throw new Gone(`subtitle ${rawId} was already removed`);
  }
  const resolved = await reports.updateMany(
    { subtitleId: id.toHexString(), status: 'open' },
    {
      $set: {
        status: 'resolved',
        resolution: input.action === 'remove' ? 'removed' : 'kept',
        resolvedBy: identity.sub,
        resolvedAt: now,
        note,
      },
      $unset: { openKey: '' },
    },
  );
  await subtitles.updateOne({ _id: id }, { $set: { openReports: 0 } });
  if (event) await publishPending(deps, subtitles, id, [event]);
  return {
    subtitleId: id.toHexString(),
    action: input.action,
    status: input.action === 'remove' ? 'removed' : current.status,
    resolvedReports: resolved.modifiedCount,
  };
}
