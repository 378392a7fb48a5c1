import type { Filter } from 'mongodb';
import Type, { type Static } from 'typebox';
import { Language } from '../../events/schemas/common.ts';
import { Gone, NotFound } from '../lib/errors.ts';
import {
  objectIdOf,
  type SubtitleCollections,
  type SubtitleDoc,
  subtitleView,
} from '../lib/subtitles/store.ts';

/** `GET /subtitles` */
export const SearchQuery = Type.Object(
  {
    anime: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
    episode: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    language: Type.Optional(Language),
    format: Type.Optional(Type.Union(['srt', 'vtt', 'ass', 'ssa'].map((f) => Type.Literal(f)))),
    /** Subtitles timed to this video (its OpenSubtitles hash). */
    videoHash: Type.Optional(Type.String({ pattern: '^[0-9a-fA-F]{16}$' })),
    /** Release name contains (case-insensitive). */
    release: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    hearingImpaired: Type.Optional(Type.Boolean()),
    foreignPartsOnly: Type.Optional(Type.Boolean()),
    machineTranslated: Type.Optional(Type.Boolean()),
    uploader: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    sort: Type.Union([Type.Literal('newest'), Type.Literal('downloads'), Type.Literal('votes')], {
      default: 'newest',
    }),
    page: Type.Integer({ minimum: 1, maximum: 10_000, default: 1 }),
    perPage: Type.Integer({ minimum: 1, maximum: 100, default: 20 }),
  },
  { additionalProperties: false },
);
export type SearchQuery = Static<typeof SearchQuery>;

/** Published subtitles matching the query, newest or most downloaded first, a page at a time. */
export async function searchSubtitles({ subtitles }: SubtitleCollections, query: SearchQuery) {
  const filter: Filter<SubtitleDoc> = { status: 'published' };
  if (query.anime !== undefined) filter.animeId = query.anime;
  // A file covering several episodes (episode–episodeTo) is found by each of them.
  if (query.episode !== undefined)
    filter.$or = [
      { episode: query.episode },
      { episode: { $lte: query.episode }, episodeTo: { $gte: query.episode } },
    ];
  if (query.language !== undefined) filter.language = query.language;
  if (query.format !== undefined) filter.format = query.format as SubtitleDoc['format'];
  if (query.videoHash !== undefined) filter['video.hash'] = query.videoHash.toLowerCase();
  if (query.release !== undefined)
    filter.release = { $regex: query.release.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), $options: 'i' };
  if (query.uploader !== undefined) filter.uploaderId = query.uploader;
  for (const flag of ['hearingImpaired', 'foreignPartsOnly', 'machineTranslated'] as const) {
    const wanted = query[flag];
    // Documents from before flags existed count as false.
    if (wanted !== undefined) filter[`flags.${flag}`] = wanted ? true : { $ne: true };
  }
  // Trusted uploaders' subtitles first, then the asked order.
  const sort: Record<string, 1 | -1> =
    query.sort === 'downloads'
      ? { trusted: -1, downloads: -1, createdAt: -1, _id: -1 }
      : query.sort === 'votes'
        ? { trusted: -1, 'votes.score': -1, downloads: -1, createdAt: -1, _id: -1 }
        : { trusted: -1, createdAt: -1, _id: -1 };
  const [items, total] = await Promise.all([
    subtitles
      .find(filter, { projection: { pendingEvents: 0 } })
      .sort(sort)
      .skip((query.page - 1) * query.perPage)
      .limit(query.perPage)
      .toArray(),
    subtitles.countDocuments(filter),
  ]);
  return { items: items.map(subtitleView), page: query.page, perPage: query.perPage, total };
}

/**
 * A subtitle that can be read: unknown or malformed id → 404; removed by moderation → 410 (the
 * document stays for the record).
 */
export async function publishedSubtitle({ subtitles }: SubtitleCollections, rawId: string | undefined) {
  const id = objectIdOf(rawId);
  const doc = id ? await subtitles.findOne({ _id: id }, { projection: { pendingEvents: 0 } }) : null;
  if (!doc) throw new NotFound(`subtitle ${rawId} not found`);
  if (doc.status === 'removed') throw new Gone(`subtitle ${rawId} was removed by moderation`);
  if (doc.status === 'hidden') throw new Gone(`subtitle ${rawId} is hidden by moderation`);
  return doc;
}
