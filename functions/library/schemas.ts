import Type, { type Static } from 'typebox';
import { ValidationFailed } from '../lib/errors.ts';
import { pagingQuery } from '../lib/http/paging.ts';
import { SafeText } from '../lib/tracking/anime.ts';

import { STATUSES } from '../lib/tracking/entry.ts';

export { STATUSES, type Status } from '../lib/tracking/entry.ts';

/** A calendar date, YYYY-MM-DD (checked for being a real day by `checkDates`). */
const DateText = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });

/** PUT /me/library/:animeId — creates or updates; omitted fields keep their value. */
export const EntryInput = Type.Object(
  {
    status: Type.Optional(
      Type.Enum([...STATUSES], {
        description:
          'Omitted: the entry keeps its status (plan_to_watch for a new one), except that a plan_to_watch ' +
          'entry whose progress goes up becomes watching (as MyAnimeList and AniList do). Completion is ' +
          'never implied: send completed.',
      }),
    ),
    progress: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    rewatchCount: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000 })),
    startedOn: Type.Optional(Type.Union([DateText, Type.Null()])),
    finishedOn: Type.Optional(Type.Union([DateText, Type.Null()])),
    notes: Type.Optional(Type.Union([SafeText({ maxLength: 5_000 }), Type.Null()])),
    tags: Type.Optional(Type.Array(SafeText({ minLength: 1, maxLength: 50 }), { maxItems: 50 })),
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 })),
    private: Type.Optional(Type.Boolean()),
    favourite: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type EntryInput = Static<typeof EntryInput>;

/** POST /me/library/:animeId/history — one watched episode (appended, never rewritten). */
export const HistoryInput = Type.Object(
  {
    episode: Type.Integer({ minimum: 1, maximum: 10_000 }),
    watchedAt: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
export type HistoryInput = Static<typeof HistoryInput>;

export const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Enum([...STATUSES])),
    favourite: Type.Optional(Type.Boolean()),
    sort: Type.Optional(Type.Enum(['updated', 'title', 'score', 'progress', 'started'])),
    ...pagingQuery({ maxPerPage: 500, defaultPerPage: 100 }),
  },
  { additionalProperties: false },
);
export type ListQuery = Static<typeof ListQuery>;

export const ExportQuery = Type.Object(
  {
    format: Type.Enum(['mal', 'json', 'csv'], { default: 'mal' }),
    gzip: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;

/**
 * A display name: at least one visible character (not only white space), no control or format
 * characters (Unicode Cc: NUL, CR, LF, …; Cf: bidi overrides such as U+202E, zero-width characters),
 * ≤ 100 characters. Surrounding white space is trimmed before it is stored (PATCH /me); a name equal
 * to another account's username is refused there (it needs the database).
 */
export const DisplayName = Type.String({
  minLength: 1,
  maxLength: 100,
  // Leading white space, the first visible character, then anything but Cc/Cf: the first two classes
  // are disjoint, so matching is linear (no backtracking on a 64 KiB body).
  pattern: '^[^\\S\\p{Cc}\\p{Cf}]*[^\\s\\p{Cc}\\p{Cf}][^\\p{Cc}\\p{Cf}]*$',
  description:
    'Trimmed; needs a visible character; control and format characters (CR, LF, bidi overrides) are refused, ' +
    "and so is another account's username (any case)",
});

/** PATCH /me — the profile. */
export const ProfileInput = Type.Object(
  {
    displayName: Type.Optional(Type.Union([DisplayName, Type.Null()])),
    preferredSubtitleLanguages: Type.Optional(
      Type.Array(Type.String({ pattern: '^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$' }), {
        maxItems: 10,
        uniqueItems: true,
      }),
    ),
    weeklyBackup: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ProfileInput = Static<typeof ProfileInput>;

/** Whether `text` (YYYY-MM-DD) names a real day between 1900 and 2200. */
export function isRealDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  return y >= 1900 && y <= 2200 && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}

/** 400 naming each body date that is not a real day, or a finish before the start. */
export function checkDates(startedOn: string | null, finishedOn: string | null, given: EntryInput): void {
  const issues = [];
  for (const [field, value] of [
    ['startedOn', given.startedOn],
    ['finishedOn', given.finishedOn],
  ] as const) {
    if (typeof value === 'string' && !isRealDate(value))
      issues.push({ field: `/body/${field}`, message: 'is not a real date' });
  }
  if (issues.length === 0 && startedOn && finishedOn && finishedOn < startedOn) {
    issues.push({ field: '/body/finishedOn', message: 'must not be before startedOn' });
  }
  if (issues.length > 0) throw new ValidationFailed('invalid dates', { issues });
}
