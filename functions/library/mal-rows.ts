import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { ValidationFailed } from '../lib/errors.ts';
import { isRealDate, type Status } from './schemas.ts';

/** One `<anime>` row of a MAL export, normalised; `problem` says why it cannot be imported. */
export interface MalRow {
  index: number;
  malId: number | null;
  title: string;
  status: Status | null;
  progress: number;
  score: number | null;
  startedOn: string | null;
  finishedOn: string | null;
  rewatchCount: number;
  notes: string | null;
  tags: string[];
  priority: number;
  updateOnImport: boolean;
  problem?: string;
  /** Values not taken as given (left out or changed), each naming the field and why; empty when none. */
  warnings: string[];
}

const parser = new XMLParser({
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'anime' || name === 'manga',
});

const text = (v: unknown): string => (v === undefined || v === null ? '' : String(v)).trim();
const int = (v: unknown): number | null => (/^\d{1,6}$/.test(text(v)) ? Number(text(v)) : null);

/** MAL statuses by number (1/2/3/4/6) or text ("Watching", "On-Hold", "Plan to Watch", …). */
export function malStatus(raw: unknown): Status | null {
  const t = text(raw)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '');
  const byNumber: Record<string, Status> = {
    '1': 'watching',
    '2': 'completed',
    '3': 'on_hold',
    '4': 'dropped',
    '6': 'plan_to_watch',
  };
  if (byNumber[t]) return byNumber[t];
  if (t.startsWith('plan')) return 'plan_to_watch';
  if (t === 'onhold') return 'on_hold';
  if (t === 'dropped') return 'dropped';
  if (t === 'completed') return 'completed';
  if (t === 'watching' || t === 'current' || t === 'currentlywatching') return 'watching';
  return null;
}

const date = (v: unknown): string | null => (isRealDate(text(v)) ? text(v) : null);
/** MAL writes `0000-00-00` (or nothing) for "no date"; anything else that is not a real date is reported. */
const noDate = (v: unknown) => text(v) === '' || text(v) === '0000-00-00';
const PRIORITY: Record<string, number> = { low: 0, medium: 1, high: 2, '0': 0, '1': 1, '2': 2 };

/**
 * Parse MAL list XML into rows. Throws ValidationFailed (nothing imported) when the document is not a
 * MAL anime list; rows that cannot be used carry `problem` and are reported as skipped.
 */
export function parseMalXml(xml: string): { rows: MalRow[]; userName: string | null } {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new ValidationFailed(`the file is not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`, {
      issues: [{ field: '/body', message: `line ${valid.err.line}: ${valid.err.msg}` }],
    });
  }
  const doc = parser.parse(xml) as { myanimelist?: Record<string, unknown> };
  const root = doc.myanimelist;
  if (!root || typeof root !== 'object') {
    throw new ValidationFailed('not a MyAnimeList export: the root element must be <myanimelist>', {
      issues: [{ field: '/body', message: 'root element must be myanimelist' }],
    });
  }
  const info = (root.myinfo ?? {}) as Record<string, unknown>;
  if (root.manga || text(info.user_export_type) === '2') {
    throw new ValidationFailed('this is a manga list; only anime lists can be imported', {
      issues: [{ field: '/body/myinfo/user_export_type', message: 'must be 1 (anime)' }],
    });
  }
  const items = (Array.isArray(root.anime) ? root.anime : []) as Record<string, unknown>[];
  const rows = items.map((item, index): MalRow => {
    const score = int(item.my_score);
    const comments = text(item.my_comments);
    let status = malStatus(item.my_status);
    if (status && text(item.my_rewatching) === '1') status = 'rewatching';
    const row: MalRow = {
      index,
      malId: /^\d{1,9}$/.test(text(item.series_animedb_id))
        ? Number(text(item.series_animedb_id)) || null
        : null,
      title: text(item.series_title),
      status,
      progress: int(item.my_watched_episodes) ?? 0,
      score: score !== null && score >= 1 && score <= 10 ? score : null,
      startedOn: date(item.my_start_date),
      finishedOn: date(item.my_finish_date),
      rewatchCount: Math.min(int(item.my_times_watched) ?? 0, 1_000),
      notes: comments ? comments.slice(0, 5_000) : null,
      tags: [
        ...new Set(
          text(item.my_tags)
            .split(',')
            .map((t) => t.trim().slice(0, 50))
            .filter(Boolean),
        ),
      ].slice(0, 50),
      priority: PRIORITY[text(item.my_priority).toLowerCase()] ?? 0,
      updateOnImport: text(item.update_on_import) !== '0',
      warnings: [],
    };
    const warn = (message: string) => row.warnings.push(message);
    for (const [field, value] of [
      ['my_start_date', item.my_start_date],
      ['my_finish_date', item.my_finish_date],
    ] as const) {
      if (!noDate(value) && date(value) === null)
        warn(`${field} "${text(value).slice(0, 20)}" is not a real date; left empty`);
    }
    if (text(item.my_score) !== '' && score === null)
      warn(`my_score "${text(item.my_score).slice(0, 20)}" is not a whole number; not rated`);
    else if (score !== null && score > 10) warn(`my_score ${score} is over 10; not rated`);
    if (text(item.my_watched_episodes) !== '' && int(item.my_watched_episodes) === null)
      warn(`my_watched_episodes "${text(item.my_watched_episodes).slice(0, 20)}" is not a count; taken as 0`);
    if ((int(item.my_times_watched) ?? 0) > 1_000) warn('my_times_watched is over 1000; taken as 1000');
    if (text(item.my_times_watched) !== '' && int(item.my_times_watched) === null)
      warn(`my_times_watched "${text(item.my_times_watched).slice(0, 20)}" is not a count; taken as 0`);
    const rawTags = text(item.my_tags)
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean);
    if (rawTags.some((t) => t.length > 50)) warn('a tag in my_tags is over 50 characters; cut to 50');
    if (new Set(rawTags).size > 50) warn('my_tags has over 50 tags; the first 50 kept');
    if (comments.length > 5_000) warn('my_comments is over 5000 characters; cut to 5000');
    if (text(item.my_priority) !== '' && PRIORITY[text(item.my_priority).toLowerCase()] === undefined)
      warn(`my_priority "${text(item.my_priority).slice(0, 20)}" is unknown; taken as low`);
    if (row.malId === null) row.problem = 'series_animedb_id is missing or not a number';
    else if (status === null) row.problem = `unknown my_status "${text(item.my_status).slice(0, 40)}"`;
    if (row.startedOn && row.finishedOn && row.finishedOn < row.startedOn) {
      warn(`my_finish_date ${row.finishedOn} is before my_start_date ${row.startedOn}; left empty`);
      row.finishedOn = null;
    }
    return row;
  });
  return { rows, userName: text(info.user_name) || null };
}
