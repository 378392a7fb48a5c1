import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { ensureUser } from '../lib/data/users.ts';
import type { Identity } from '../lib/http/types.ts';
import { submitRating } from '../lib/tracking/ratings.ts';
import { ENTRY_SQL, entryView, nextEntry, sameEntry, saveEntry } from './entries.ts';
import type { MalRow } from './mal-rows.ts';

/** `unchanged`: the anime is listed exactly as the row says (entry and score): nothing written, no event. */
export type Outcome = 'imported' | 'updated' | 'unchanged' | 'skipped';

export interface RowReport {
  row: number;
  malId: number | null;
  title: string;
  outcome: Outcome;
  animeId?: number;
  reason?: string;
  /** Values of an imported/updated row not taken as given (field, value, what was done instead). */
  warnings?: string[];
}

export interface ImportReport {
  totals: Record<Outcome, number>;
  rows: RowReport[];
}

export interface ImportResult {
  report: ImportReport;
  changedAnime: number[];
  events: CloudEventV1<unknown>[];
}

/**
 * Apply parsed MAL rows to the caller's list inside one transaction (the whole file or nothing).
 * Rows not in the catalogue, duplicated, or with `update_on_import` 0 for an anime already listed are
 * skipped with a reason; `my_score` 1–10 becomes a rating (0 means none). A listed anime the row would
 * not change (same entry after the list rules, same score or none) is `unchanged`: not written, no event,
 * so importing the same file again changes nothing.
 */
export async function applyMalRows(
  tx: pg.ClientBase,
  identity: Identity,
  rows: readonly MalRow[],
  onProgress?: (done: number, total: number) => void,
): Promise<ImportResult> {
  await ensureUser(tx, identity);
  const malIds = rows.map((r) => r.malId).filter((id): id is number => id !== null);
  const known = await tx.query<{
    id: number;
    mal_id: number;
    episodes: number | null;
    listed: boolean;
    score: number | null;
  }>(
    `select a.id, a.mal_id, a.episodes, e.anime_id is not null as listed, r.score, ${ENTRY_SQL}
     from anime a
     left join library_entries e on e.anime_id = a.id and e.user_id = $2
     left join ratings r on r.anime_id = a.id and r.user_id = $2
     where a.mal_id = any($1::int[])`,
    [malIds, identity.sub],
  );
  const byMal = new Map(known.rows.map((r) => [r.mal_id, r]));
  const seen = new Set<number>();
  const report: ImportReport = { totals: { imported: 0, updated: 0, unchanged: 0, skipped: 0 }, rows: [] };
  const events: CloudEventV1<unknown>[] = [];
  const changed: number[] = [];
  let done = 0;
  for (const row of rows) {
    const base = { row: row.index + 1, malId: row.malId, title: row.title };
    const anime = row.malId === null ? undefined : byMal.get(row.malId);
    let reason = row.problem;
    if (!reason && !anime) reason = `MAL anime ${row.malId} is not in the catalogue`;
    else if (!reason && row.malId !== null && seen.has(row.malId)) reason = 'duplicate of an earlier row';
    else if (!reason && anime?.listed && !row.updateOnImport)
      reason = 'already on your list and update_on_import is 0';
    if (reason || !anime || row.status === null) {
      report.rows.push({ ...base, outcome: 'skipped', reason: reason ?? 'unusable row' });
      report.totals.skipped += 1;
    } else {
      seen.add(anime.mal_id);
      const input = {
        status: row.status,
        progress: row.progress,
        rewatchCount: row.rewatchCount,
        startedOn: row.startedOn,
        finishedOn: row.finishedOn,
        notes: row.notes,
        tags: row.tags,
        priority: row.priority,
      };
      const options = { origin: 'import', automaticDates: false, lenientProgress: true } as const;
      // The entry as read at the start of this transaction (each anime is applied once: duplicates are
      // skipped). A concurrent change committed since is kept: the import then counts as applied before it.
      const before = anime.listed ? entryView(anime) : undefined;
      const next = nextEntry(before, input, anime.episodes, options);
      const entryChanges = !before || !sameEntry(before, next);
      if (entryChanges) events.push(...(await saveEntry(tx, identity, anime.id, input, options)).events);
      let scoreChanges = false;
      if (row.score !== null && row.score !== anime.score) {
        scoreChanges = true;
        events.push(...(await submitRating(tx, identity, anime.id, { score: row.score })).events);
      }
      const outcome: Outcome = !before ? 'imported' : entryChanges || scoreChanges ? 'updated' : 'unchanged';
      const warnings = [...row.warnings];
      if (next.progress < row.progress)
        warnings.push(
          `my_watched_episodes ${row.progress} is past the last episode; taken as ${next.progress}`,
        );
      report.rows.push({ ...base, outcome, animeId: anime.id, ...(warnings.length > 0 ? { warnings } : {}) });
      report.totals[outcome] += 1;
      if (outcome !== 'unchanged') changed.push(anime.id);
    }
    done += 1;
    if (done % 50 === 0 || done === rows.length) onProgress?.(done, rows.length);
  }
  return { report, changedAnime: changed, events };
}
