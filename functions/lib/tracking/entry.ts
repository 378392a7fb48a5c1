/**
 * The one shape of a list entry, shared by every API that shows one (the library's routes and exports,
 * the catalog's `me.entry`): camelCase fields, dates as `YYYY-MM-DD`, timestamps RFC 3339 UTC ending `Z`.
 */

import Type, { type Static } from 'typebox';

/** List statuses: MAL's five plus rewatching (AniList REPEATING, Shikimori rewatching). */
export const STATUSES = [
  'watching',
  'completed',
  'on_hold',
  'dropped',
  'plan_to_watch',
  'rewatching',
] as const;
export type Status = (typeof STATUSES)[number];

const Timestamp = Type.String({ format: 'date-time' });
const Day = Type.Union([Type.String({ format: 'date' }), Type.Null()]);

/** A list entry as every API shows it (the library's answers, the catalog's `me.entry`, the OpenAPI component). */
export const EntrySchema = Type.Object(
  {
    animeId: Type.Integer({ minimum: 1 }),
    status: Type.Enum([...STATUSES]),
    progress: Type.Integer({ minimum: 0 }),
    rewatchCount: Type.Integer({ minimum: 0 }),
    startedOn: Day,
    finishedOn: Day,
    notes: Type.Union([Type.String(), Type.Null()]),
    tags: Type.Array(Type.String()),
    priority: Type.Integer(),
    private: Type.Boolean(),
    favourite: Type.Boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'Entry' },
);
export type Entry = Static<typeof EntrySchema>;

/** SQL selecting an entry's columns (table alias `e`) for `entryView` (dates as text, no time zone games). */
export const ENTRY_SQL = `e.anime_id, e.status, e.progress, e.rewatch_count, e.started_on::text, e.finished_on::text,
  e.notes, e.tags, e.priority, e.private, e.favourite, e.created_at, e.updated_at`;

/** A row selected with ENTRY_SQL → the entry's API shape. */
export function entryView(row: Record<string, unknown>): Entry {
  return {
    animeId: row.anime_id as number,
    status: row.status as Status,
    progress: row.progress as number,
    rewatchCount: row.rewatch_count as number,
    startedOn: (row.started_on as string | null) ?? null,
    finishedOn: (row.finished_on as string | null) ?? null,
    notes: (row.notes as string | null) ?? null,
    tags: (row.tags as string[]) ?? [],
    priority: row.priority as number,
    private: row.private as boolean,
    favourite: row.favourite as boolean,
    createdAt: (row.created_at as Date).toISOString(),
    updatedAt: (row.updated_at as Date).toISOString(),
  };
}
