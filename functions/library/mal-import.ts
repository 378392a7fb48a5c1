import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { ensureUser } from '../lib/data/users.ts';
import type { Identity } from '../lib/http/types.ts';
import { submitRating } from '../lib/tracking/ratings.ts';
import { saveEntry } from './entries.ts';
import type { MalRow } from './mal-rows.ts';

export type Outcome = 'imported' | 'updated' | 'skipped';

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
 * skipped with a reason; `my_score` 1–10 becomes a rating (0 means none).
 */
export async function applyMalRows(
  tx: pg.ClientBase,
  identity: Identity,
  rows: readonly MalRow[],
  onProgress?: (done: number, total: number) => void,
): Promise<ImportResult> {
  await ensureUser(tx, identity);
  const malIds = rows.map((r) => r.malId).filter((id): id is number => id !== null);
  const known = await tx.query<{ id: number; mal_id: number; listed: boolean; score: number | null }>(
    `select a.id, a.mal_id, e.anime_id is not null as listed, r.score
     from anime a
     left join library_entries e on e.anime_id = a.id and e.user_id = $2
     left join ratings r on r.anime_id = a.id and r.user_id = $2
     where a.mal_id = any($1::int[])`,
    [malIds, identity.sub],
  );
  const byMal = new Map(known.rows.map((r) => [r.mal_id, r]));
  const seen = new Set<number>();
  const report: ImportReport = { totals: { imported: 0, updated: 0, skipped: 0 }, rows: [] };
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
      const write = await saveEntry(
        tx,
        identity,
        anime.id,
        {
          status: row.status,
          progress: row.progress,
          rewatchCount: row.rewatchCount,
          startedOn: row.startedOn,
          finishedOn: row.finishedOn,
          notes: row.notes,
          tags: row.tags,
          priority: row.priority,
        },
        { origin: 'import', automaticDates: false, lenientProgress: true },
      );
      events.push(...write.events);
      if (row.score !== null && row.score !== anime.score) {
        const rated = await submitRating(tx, identity, anime.id, { score: row.score });
        events.push(...rated.events);
      }
      const outcome: Outcome = anime.listed ? 'updated' : 'imported';
      const warnings = [...row.warnings];
      if (write.entry && write.entry.progress < row.progress)
        warnings.push(
          `my_watched_episodes ${row.progress} is past the last episode; taken as ${write.entry.progress}`,
        );
      report.rows.push({ ...base, outcome, animeId: anime.id, ...(warnings.length > 0 ? { warnings } : {}) });
      report.totals[outcome] += 1;
      changed.push(anime.id);
    }
    done += 1;
    if (done % 50 === 0 || done === rows.length) onProgress?.(done, rows.length);
  }
  return { report, changedAnime: changed, events };
}
