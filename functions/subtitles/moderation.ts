import type { CloudEventV1 } from 'cloudevents';
import { ObjectId } from 'mongodb';
import Type, { type Static } from 'typebox';
import type { SubtitleHiddenV1 } from '../../events/schemas/subtitle-hidden.ts';
import type { SubtitleRemovedV1 } from '../../events/schemas/subtitle-removed.ts';
import { ReportReason, type SubtitleReportedV1 } from '../../events/schemas/subtitle-reported.ts';
import type { SubtitleRestoredV1 } from '../../events/schemas/subtitle-restored.ts';
import { Conflict, Gone, NotFound } from '../lib/errors.ts';
import { type PublishDeps, publishPending } from '../lib/events/embedded-outbox.ts';
import { newEvent } from '../lib/events/new-event.ts';
import type { Identity } from '../lib/http/types.ts';
import {
  type AuditDoc,
  isDuplicateKey,
  objectIdOf,
  type ReportDoc,
  type SubtitleCollections,
  type SubtitleDoc,
  subtitleView,
} from '../lib/subtitles/store.ts';
import { publishedSubtitle } from './search.ts';

const Note = Type.String({ maxLength: 1000, pattern: '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F]*$' });

/** `POST /subtitles/:id/reports` */
export const ReportInput = Type.Object(
  { reason: ReportReason, details: Type.Optional(Note) },
  { additionalProperties: false },
);
export type ReportInput = Static<typeof ReportInput>;

/** `POST /subtitles/:id/moderation` */
export const ModerationInput = Type.Object(
  {
    action: Type.Union([
      Type.Literal('remove'),
      Type.Literal('hide'),
      Type.Literal('restore'),
      Type.Literal('keep'),
    ]),
    note: Type.Optional(Note),
  },
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
  const event = newEvent('dev.isekai.subtitle.reported.v1', data);
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

/** The status each action leads to, from the statuses it may start from. */
const TRANSITIONS: Record<
  ModerationInput['action'],
  { from: readonly SubtitleDoc['status'][]; to?: SubtitleDoc['status'] }
> = {
  remove: { from: ['published', 'hidden'], to: 'removed' },
  hide: { from: ['published'], to: 'hidden' },
  restore: { from: ['hidden'], to: 'published' },
  keep: { from: ['published', 'hidden'] },
};

/**
 * A moderator's decision on a subtitle. `remove` (final): status → removed (the object is kept for the
 * record and any appeal; downloads answer 410, search hides it) with the `removed` event in the same
 * document write. `hide` (reversible): status → hidden (410, out of search) until `restore`; each with
 * its `hidden`/`restored` event the same way (notify tells the uploader of each). `removed` and `hidden`
 * carry the categories (`reasons`) of the open reports the decision resolves. `keep`:
 * only the open reports change. Every action resolves the open reports and is written to the audit log
 * (who, when, what, why), which moderators read and the uploader sees as the decision on their subtitle.
 * An action the status does not allow → 409 (410 once removed).
 */
export async function moderateSubtitle(
  deps: PublishDeps,
  collections: SubtitleCollections,
  identity: Identity,
  rawId: string | undefined,
  input: ModerationInput,
) {
  const { subtitles, reports, audit } = collections;
  const id = objectIdOf(rawId);
  const current = id ? await subtitles.findOne({ _id: id }, { projection: { pendingEvents: 0 } }) : null;
  if (!id || !current) throw new NotFound(`subtitle ${rawId} not found`);
  if (current.status === 'removed') throw new Gone(`subtitle ${rawId} was already removed`);
  const rule = TRANSITIONS[input.action];
  if (!rule.from.includes(current.status))
    throw new Conflict(`cannot ${input.action} a subtitle that is ${current.status}`);
  const now = new Date();
  const note = input.note ?? null;
  const to = rule.to ?? current.status;
  const about = {
    subtitleId: id.toHexString(),
    animeId: current.animeId,
    episode: current.episode,
    uploaderId: current.uploaderId,
  };
  const at = now.toISOString();
  const withNote = note ? { note } : {};
  // What the uploader is told: the categories of the open reports this decision resolves, never the
  // reporters' own words (their `details` stay with the moderators).
  const open = await reports
    .find({ subtitleId: id.toHexString(), status: 'open' }, { projection: { reason: 1 } })
    .toArray();
  const categories = [...new Set(open.map((r) => r.reason))].sort();
  const withReasons = categories.length > 0 ? { reasons: categories } : {};
  // The status change and its event are one document write (the outbox embedded in the subtitle).
  let event: CloudEventV1<{ animeId: number }> | undefined;
  if (input.action === 'remove') {
    const data: SubtitleRemovedV1 = {
      ...about,
      removedBy: identity.sub,
      reason: 'moderation',
      ...withNote,
      ...withReasons,
      removedAt: at,
    };
    event = newEvent('dev.isekai.subtitle.removed.v1', data);
  } else if (input.action === 'hide') {
    const data: SubtitleHiddenV1 = {
      ...about,
      hiddenBy: identity.sub,
      ...withNote,
      ...withReasons,
      hiddenAt: at,
    };
    event = newEvent('dev.isekai.subtitle.hidden.v1', data);
  } else if (input.action === 'restore') {
    const data: SubtitleRestoredV1 = { ...about, restoredBy: identity.sub, ...withNote, restoredAt: at };
    event = newEvent('dev.isekai.subtitle.restored.v1', data);
  }
  if (to !== current.status) {
    // Conditional on the status read: two moderators at once cannot both move it.
    const changed = await subtitles.updateOne(
      { _id: id, status: current.status },
      {
        $set: {
          status: to,
          ...(to === 'removed' ? { removedAt: now, removedBy: identity.sub, removalNote: note } : {}),
        },
        ...(event ? { $push: { pendingEvents: event } } : {}),
      },
    );
    if (changed.matchedCount === 0) throw new Conflict(`subtitle ${rawId} was changed by another moderator`);
  }
  const resolved = await reports.updateMany(
    { subtitleId: id.toHexString(), status: 'open' },
    {
      $set: {
        status: 'resolved',
        resolution: input.action === 'remove' ? 'removed' : input.action === 'hide' ? 'hidden' : 'kept',
        resolvedBy: identity.sub,
        resolvedAt: now,
        note,
      },
      $unset: { openKey: '' },
    },
  );
  await subtitles.updateOne({ _id: id }, { $set: { openReports: 0 } });
  await audit.insertOne({
    _id: new ObjectId(),
    subtitleId: id,
    uploaderId: current.uploaderId,
    action: input.action,
    moderatorId: identity.sub,
    moderatorName: identity.username,
    note,
    from: current.status,
    to,
    resolvedReports: resolved.modifiedCount,
    at: now,
  });
  if (event) await publishPending(deps, subtitles, id, [event]);
  return {
    subtitleId: id.toHexString(),
    action: input.action,
    status: to,
    resolvedReports: resolved.modifiedCount,
  };
}

const auditView = (a: AuditDoc) => ({
  subtitleId: a.subtitleId.toHexString(),
  action: a.action,
  moderatorId: a.moderatorId,
  moderatorName: a.moderatorName ?? null,
  note: a.note,
  from: a.from,
  to: a.to,
  resolvedReports: a.resolvedReports,
  at: a.at.toISOString(),
});

/** A subtitle's audit log, newest first (moderators). */
export async function auditLog({ audit }: SubtitleCollections, rawId: string | undefined) {
  const id = objectIdOf(rawId);
  if (!id) throw new NotFound(`subtitle ${rawId} not found`);
  const items = await audit.find({ subtitleId: id }).sort({ at: -1, _id: -1 }).limit(200).toArray();
  return { items: items.map(auditView) };
}

/** `GET /subtitles/mine` */
export const MineQuery = Type.Object(
  {
    page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    perPage: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);
export type MineQuery = Static<typeof MineQuery>;

/**
 * The caller's own uploads in every status, newest first, each with the last moderator decision on it
 * (action, note, when; not who): how an uploader learns why a subtitle was hidden or removed.
 */
export async function mySubtitles(
  { subtitles, audit }: SubtitleCollections,
  identity: Identity,
  query: MineQuery,
) {
  const filter = { uploaderId: identity.sub };
  const [docs, total] = await Promise.all([
    subtitles
      .find(filter, { projection: { pendingEvents: 0 } })
      .sort({ createdAt: -1, _id: -1 })
      .skip((query.page - 1) * query.perPage)
      .limit(query.perPage)
      .toArray(),
    subtitles.countDocuments(filter),
  ]);
  const decisions = await audit
    .find({ subtitleId: { $in: docs.map((d) => d._id) } })
    .sort({ at: -1, _id: -1 })
    .toArray();
  const last = new Map<string, AuditDoc>();
  for (const d of decisions)
    if (!last.has(d.subtitleId.toHexString())) last.set(d.subtitleId.toHexString(), d);
  return {
    items: docs.map((d) => {
      const decision = last.get(d._id.toHexString());
      return {
        ...subtitleView({ ...d, pendingEvents: [] }),
        moderation: decision
          ? { action: decision.action, note: decision.note, at: decision.at.toISOString() }
          : null,
      };
    }),
    page: query.page,
    perPage: query.perPage,
    total,
  };
}
