import type { Postgres } from '../data/postgres.ts';
import { ANIME_TYPE_LABEL } from './anime.ts';
import { ENTRY_SQL, type Entry, entryView } from './entry.ts';

/** An entry with what exports need from the catalogue and the rating. */
export interface ExportEntry extends Entry {
  malId: number | null;
  title: string;
  type: string;
  episodes: number | null;
  score: number | null;
}

/** Every entry of a user's list (private ones included: this is their own backup). */
export async function exportEntries(db: Pick<Postgres, 'query'>, userId: string): Promise<ExportEntry[]> {
  const { rows } = await db.query(
    `select ${ENTRY_SQL}, a.mal_id, a.title, a.type, a.episodes, r.score
     from library_entries e join anime a on a.id = e.anime_id
     left join ratings r on r.user_id = e.user_id and r.anime_id = e.anime_id
     where e.user_id = $1 order by lower(a.title), a.id`,
    [userId],
  );
  return rows.map((row) => ({
    ...entryView(row),
    malId: row.mal_id,
    title: row.title,
    type: row.type,
    episodes: row.episodes,
    score: row.score,
  }));
}

const MAL_STATUS: Record<string, string> = {
  watching: 'Watching',
  completed: 'Completed',
  on_hold: 'On-Hold',
  dropped: 'Dropped',
  plan_to_watch: 'Plan to Watch',
  rewatching: 'Completed',
};
/** MAL's `series_type` names are the display labels. */
const MAL_TYPE: Readonly<Record<string, string>> = ANIME_TYPE_LABEL;
const PRIORITY = ['LOW', 'MEDIUM', 'HIGH'];

/** CDATA that survives `]]>` in the text. */
const cdata = (text: string) => `<![CDATA[${text.replaceAll(']]>', ']]]]><![CDATA[>')}]]>`;
const esc = (text: string) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * MyAnimeList XML that MAL (and every tracker that reads MAL exports) re-imports: MAL status names and
 * series types, CDATA text, `0000-00-00` for unset dates, `update_on_import` 1. Rewatching is exported as
 * Completed with `my_rewatching` 1, as MAL models it. Entries without a MAL id cannot be expressed and
 * are left out (counted in a comment).
 */
export function toMalXml(entries: readonly ExportEntry[], user: { id: string; name: string }): string {
  const mal = entries.filter((e) => e.malId !== null);
  const count = (s: string) => mal.filter((e) => MAL_STATUS[e.status] === s).length;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8" ?>',
    '<myanimelist>',
    '  <myinfo>',
    `    <user_id>0</user_id>`,
    `    <user_name>${esc(user.name)}</user_name>`,
    '    <user_export_type>1</user_export_type>',
    `    <user_total_anime>${mal.length}</user_total_anime>`,
    `    <user_total_watching>${count('Watching')}</user_total_watching>`,
    `    <user_total_completed>${count('Completed')}</user_total_completed>`,
    `    <user_total_onhold>${count('On-Hold')}</user_total_onhold>`,
    `    <user_total_dropped>${count('Dropped')}</user_total_dropped>`,
    `    <user_total_plantowatch>${count('Plan to Watch')}</user_total_plantowatch>`,
    '  </myinfo>',
  ];
  if (mal.length < entries.length)
    lines.push(`  <!-- ${entries.length - mal.length} entries have no MAL id -->`);
  for (const e of mal) {
    lines.push(
      '  <anime>',
      `    <series_animedb_id>${e.malId}</series_animedb_id>`,
      `    <series_title>${cdata(e.title)}</series_title>`,
      `    <series_type>${MAL_TYPE[e.type] ?? 'Unknown'}</series_type>`,
      `    <series_episodes>${e.episodes ?? 0}</series_episodes>`,
      '    <my_id>0</my_id>',
      `    <my_watched_episodes>${e.progress}</my_watched_episodes>`,
      `    <my_start_date>${e.startedOn ?? '0000-00-00'}</my_start_date>`,
      `    <my_finish_date>${e.finishedOn ?? '0000-00-00'}</my_finish_date>`,
      '    <my_rated></my_rated>',
      `    <my_score>${e.score ?? 0}</my_score>`,
      '    <my_storage></my_storage>',
      '    <my_storage_value>0.00</my_storage_value>',
      `    <my_status>${MAL_STATUS[e.status]}</my_status>`,
      `    <my_comments>${cdata(e.notes ?? '')}</my_comments>`,
      `    <my_times_watched>${e.rewatchCount}</my_times_watched>`,
      '    <my_rewatch_value></my_rewatch_value>',
      `    <my_priority>${PRIORITY[e.priority] ?? 'LOW'}</my_priority>`,
      `    <my_tags>${cdata(e.tags.join(', '))}</my_tags>`,
      `    <my_rewatching>${e.status === 'rewatching' ? 1 : 0}</my_rewatching>`,
      '    <my_rewatching_ep>0</my_rewatching_ep>',
      '    <my_discuss>1</my_discuss>',
      '    <my_sns>default</my_sns>',
      '    <update_on_import>1</update_on_import>',
      '  </anime>',
    );
  }
  lines.push('</myanimelist>', '');
  return lines.join('\n');
}

const CSV_COLUMNS = [
  'anime_id',
  'mal_id',
  'title',
  'type',
  'episodes',
  'status',
  'progress',
  'score',
  'rewatch_count',
  'started_on',
  'finished_on',
  'priority',
  'private',
  'favourite',
  'tags',
  'notes',
] as const;

/** One RFC 4180 field; text that a spreadsheet would run as a formula gets a leading apostrophe. */
function csvField(value: unknown): string {
  let text = value === null || value === undefined ? '' : String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** RFC 4180 CSV (CRLF line ends, header row). */
export function toCsv(entries: readonly ExportEntry[]): string {
  const rows = entries.map((e) =>
    [
      e.animeId,
      e.malId,
      e.title,
      e.type,
      e.episodes,
      e.status,
      e.progress,
      e.score,
      e.rewatchCount,
      e.startedOn,
      e.finishedOn,
      e.priority,
      e.private,
      e.favourite,
      e.tags.join(', '),
      e.notes,
    ]
      .map(csvField)
      .join(','),
  );
  return `${[CSV_COLUMNS.join(','), ...rows].join('\r\n')}\r\n`;
}
