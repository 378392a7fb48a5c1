/**
 * The one shape of a list entry, shared by every API that shows one (the library's routes and exports,
 * the catalog's `me.entry`): camelCase fields, dates as `YYYY-MM-DD`, timestamps RFC 3339 UTC ending `Z`.
 */

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

/** A list entry as every API shows it. */
export interface Entry {
  animeId: number;
  status: Status;
  progress: number;
  rewatchCount: number;
  startedOn: string | null;
  finishedOn: string | null;
  notes: string | null;
  tags: string[];
  priority: number;
  private: boolean;
  favourite: boolean;
  createdAt: string;
  updatedAt: string;
}

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
