/**
 * Catalog reads for pages: query strings cleaned against the catalog's own ListQuery schema (a bad filter
 * in a shared URL is dropped, not an error page), and the current airing season.
 */
import Value from 'typebox/value';
import type { AnimeDetail, AnimeSummary, Page } from '../../../functions/catalog/queries.ts';
import { ListQuery, SEASONS } from '../../../functions/catalog/schemas.ts';
import { ANIME_TYPE_LABEL } from '../../../functions/lib/tracking/anime.ts';
import type { Entry } from '../../../functions/lib/tracking/entry.ts';
import type { RatingView } from '../../../functions/lib/tracking/rating-view.ts';
import type { Api } from './api.ts';

export { ANIME_STATUSES, ANIME_TYPES, SEASONS, SORTS } from '../../../functions/catalog/schemas.ts';
export { STATUSES } from '../../../functions/library/schemas.ts';

import type { historyView } from '../../../functions/library/entries.ts';

export type { AnimeDetail, AnimeSummary, Entry, Page, RatingView };
/** One watched episode of the viewer's history (GET /me/library/{id}/history). */
export type WatchedEpisode = ReturnType<typeof historyView>;

/** A library list row as GET /me/library answers it (an Entry plus the anime's basics and the score). */
export type ListItem = Entry & {
  anime: { title: string; episodes: number | null; type: string; malId: number | null };
  score: number | null;
};
export type ListPage = Omit<Page<ListItem>, 'totalPages'>;

type SearchKey = keyof typeof ListQuery.properties;
const KEYS = Object.keys(ListQuery.properties) as SearchKey[];

/** The valid search parameters of a page URL, as the catalog takes them (invalid ones dropped). */
export function searchParams(params: URLSearchParams): Partial<Record<SearchKey, string | number>> {
  const out: Partial<Record<SearchKey, string | number>> = {};
  for (const key of KEYS) {
    const raw = params.get(key)?.trim();
    if (!raw) continue;
    const schema = ListQuery.properties[key];
    const value = Value.Convert(schema, raw);
    if (Value.Check(schema, value)) out[key] = value as string | number;
  }
  return out;
}

/**
 * An anime's title for a page that only holds its id (a subtitle, a moderation case): the catalog's
 * `GET /anime/{id}` through the edge (public, cached there). Undefined when the catalog does not answer
 * (unknown id, outage): the page then names the anime by its id rather than failing.
 */
export function animeTitle(api: Api, animeId: number | string): Promise<string | undefined> {
  return api
    .json<AnimeDetail>({ path: `/anime/${encodeURIComponent(String(animeId))}` })
    .then((a) => a.title)
    .catch(() => undefined);
}

/** The season before and after (fall 2024 → summer 2024, winter 2025). */
export function neighbourSeasons(season: (typeof SEASONS)[number], year: number) {
  const i = SEASONS.indexOf(season);
  const prev =
    i === 0 ? { season: SEASONS[3] ?? 'fall', year: year - 1 } : { season: SEASONS[i - 1] ?? 'winter', year };
  const next =
    i === 3 ? { season: SEASONS[0] ?? 'winter', year: year + 1 } : { season: SEASONS[i + 1] ?? 'fall', year };
  return { prev, next };
}

/** One episode's score as GET /anime/{id}/episodes/ratings lists it (rate-anime declares no type for it). */
export interface EpisodeScore {
  episode: number;
  count: number;
  mean: number;
  mine?: number | null;
}

/** A public review as GET /anime/{id}/reviews lists it (rate-anime declares no type for it yet). */
export interface Review {
  userId: string;
  author: string;
  score: number;
  review: string;
  updatedAt: string;
}

/** The airing season of a date (winter = Jan–Mar, spring = Apr–Jun, …), as the catalog names it. */
export function seasonOf(date: Date): { season: (typeof SEASONS)[number]; year: number } {
  const season = SEASONS[Math.floor(date.getUTCMonth() / 3)] ?? 'winter';
  return { season, year: date.getUTCFullYear() };
}

export const STATUS_LABEL: Record<string, string> = {
  watching: 'Watching',
  completed: 'Completed',
  on_hold: 'On hold',
  dropped: 'Dropped',
  plan_to_watch: 'Plan to watch',
  rewatching: 'Rewatching',
};

/** Anime type → label (one table with the MAL export: functions/lib/tracking/anime.ts). */
export const TYPE_LABEL: Readonly<Record<string, string>> = ANIME_TYPE_LABEL;

/** "Fall 2024" */
export const seasonLabel = (season: string | null, year: number | null) =>
  season && year ? `${season[0]?.toUpperCase()}${season.slice(1)} ${year}` : year ? String(year) : '—';

/** Distribution as rows 10 → 1 with counts and shares (for the chart and its table). */
export function distributionRows(
  distribution: Record<string, number>,
): { score: number; count: number; share: number }[] {
  const rows = Array.from({ length: 10 }, (_, i) => {
    const score = 10 - i;
    return { score, count: distribution[String(score)] ?? 0 };
  });
  const total = rows.reduce((sum, r) => sum + r.count, 0);
  return rows.map((r) => ({ ...r, share: total === 0 ? 0 : r.count / total }));
}
