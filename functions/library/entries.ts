import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { ensureUser } from '../lib/data/users.ts';
import { NotFound, ValidationFailed } from '../lib/errors.ts';
import { newEvent } from '../lib/events/new-event.ts';
import { enqueue } from '../lib/events/outbox.ts';
import type { Identity } from '../lib/http/types.ts';
import { ENTRY_SQL, type Entry, entryView } from '../lib/tracking/entry.ts';
import { lockStats } from '../lib/tracking/stats.ts';
import { checkDates, type EntryInput, type Status } from './schemas.ts';

export { ENTRY_SQL, type Entry, entryView } from '../lib/tracking/entry.ts';

const today = () => new Date().toISOString().slice(0, 10);

/** The entry after applying `input` to `before` (pure: the list rules live here). */
export function nextEntry(
  before: Entry | undefined,
  input: EntryInput,
  episodes: number | null,
  options: { automaticDates?: boolean; lenientProgress?: boolean } = {},
) {
  const auto = options.automaticDates ?? true;
  const status: Status = input.status ?? impliedStatus(before, input);
  const entering = (s: Status) => status === s && before?.status !== s;
  let progress = input.progress ?? (entering('rewatching') ? 0 : (before?.progress ?? 0));
  if (episodes !== null && progress > episodes && options.lenientProgress) progress = episodes;
  if (episodes !== null && progress > episodes) {
    throw new ValidationFailed(`progress ${progress} is past the last episode (${episodes})`, {
      issues: [{ field: '/body/progress', message: `must be at most ${episodes}` }],
    });
  }
  if (status === 'completed' && episodes !== null) progress = episodes;
  let rewatchCount = input.rewatchCount ?? before?.rewatchCount ?? 0;
  if (input.rewatchCount === undefined && before?.status === 'rewatching' && status === 'completed')
    rewatchCount += 1;
  let startedOn = input.startedOn !== undefined ? input.startedOn : (before?.startedOn ?? null);
  let finishedOn = input.finishedOn !== undefined ? input.finishedOn : (before?.finishedOn ?? null);
  // Automatic dates (off for a MAL import: its own dates win) fill an empty date only, never move one (a
  // rewatch keeps the first watch's). Sending `completed` fills an empty finish date with today, as MAL and
  // AniList do, also when it ends a rewatch or repeats the status; an explicit `finishedOn` (null too) wins.
  if (
    auto &&
    input.startedOn === undefined &&
    !startedOn &&
    (status === 'watching' || (progress > 0 && status !== 'plan_to_watch'))
  ) {
    startedOn = today();
  }
  if (
    auto &&
    input.finishedOn === undefined &&
    !finishedOn &&
    status === 'completed' &&
    (input.status === 'completed' || entering('completed'))
  ) {
    finishedOn = today();
    startedOn ??= finishedOn;
  }
  checkDates(startedOn, finishedOn, input);
  return {
    status,
    progress,
    rewatchCount,
    startedOn,
    finishedOn,
    notes: input.notes !== undefined ? input.notes : (before?.notes ?? null),
    tags: input.tags ?? before?.tags ?? [],
    priority: input.priority ?? before?.priority ?? 0,
    private: input.private ?? before?.private ?? false,
    favourite: input.favourite ?? before?.favourite ?? false,
  };
}

/** The fields of an entry a write can set or the list rules derive (not its timestamps). */
const SAME_FIELDS = [
  'status',
  'progress',
  'rewatchCount',
  'startedOn',
  'finishedOn',
  'notes',
  'priority',
  'private',
  'favourite',
] as const;

/**
 * Whether `next` (nextEntry's answer) would leave the listed entry `before` as it is: every field a write
 * sets equal, tags in the same order. Such a write is `unchanged` (nothing written, no event), whether
 * it comes from `PUT /me/library/{id}` or a MAL import row.
 */
export function sameEntry(before: Entry, next: ReturnType<typeof nextEntry>): boolean {
  return (
    SAME_FIELDS.every((field) => before[field] === next[field]) &&
    before.tags.length === next.tags.length &&
    before.tags.every((tag, i) => tag === next.tags[i])
  );
}

/**
 * The status when the input names none: the entry's own (plan_to_watch for a new one), except that a
 * planned entry whose progress goes up becomes `watching` — what MyAnimeList and AniList do on the first
 * progress update of a planned entry. Completion stays explicit (progress reaching the last episode
 * keeps the status; `completed` must be sent).
 */
function impliedStatus(before: Entry | undefined, input: EntryInput): Status {
  const current = before?.status ?? 'plan_to_watch';
  const started = input.progress !== undefined && input.progress > (before?.progress ?? 0);
  return current === 'plan_to_watch' && started ? 'watching' : current;
}

export interface EntryWrite {
  readonly entry: Entry | null;
  readonly change: 'added' | 'updated' | 'removed' | 'unchanged';
  /** Whether what the catalog shows (members, favourites) moved. */
  readonly catalogChanged: boolean;
  readonly events: CloudEventV1<unknown>[];
}

async function readEntry(tx: pg.ClientBase, userId: string, animeId: number): Promise<Entry | undefined> {
  const { rows } = await tx.query(
    `select ${ENTRY_SQL} from library_entries e where user_id = $1 and anime_id = $2`,
    [userId, animeId],
  );
  return rows[0] ? entryView(rows[0]) : undefined;
}

/**
 * Create or update the caller's entry in the caller's transaction: list rules, members/favourites
 * aggregates, per-episode history for newly watched episodes, and `library.updated` in the outbox.
 * A write that would leave a listed entry as it is (sameEntry) is `unchanged`: no row updated (its
 * `updatedAt` stays), no history, no event — the entry comes back as it was.
 */
export async function saveEntry(
  tx: pg.ClientBase,
  identity: Identity,
  animeId: number,
  input: EntryInput,
  options: {
    origin?: 'progress' | 'import';
    automaticDates?: boolean;
    lenientProgress?: boolean;
  } = {},
): Promise<EntryWrite> {
  await ensureUser(tx, identity);
  const { episodes } = await lockStats(tx, animeId);
  const before = await readEntry(tx, identity.sub, animeId);
  const next = nextEntry(before, input, episodes, options);
  if (before && sameEntry(before, next))
    return { entry: before, change: 'unchanged', catalogChanged: false, events: [] };
  const { rows } = await tx.query(
    `insert into library_entries as e (user_id, anime_id, status, progress, rewatch_count, started_on, finished_on,
       notes, tags, priority, private, favourite)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
     on conflict (user_id, anime_id) do update set status = $3, progress = $4, rewatch_count = $5, started_on = $6,
       finished_on = $7, notes = $8, tags = $9, priority = $10, private = $11, favourite = $12, updated_at = now()
     returning ${ENTRY_SQL}`,
    [
      identity.sub,
      animeId,
      next.status,
      next.progress,
      next.rewatchCount,
      next.startedOn,
      next.finishedOn,
      next.notes,
      next.tags,
      next.priority,
      next.private,
      next.favourite,
    ],
  );
  const entry = entryView(rows[0] ?? {});
  const favouriteDelta = Number(entry.favourite) - Number(before?.favourite ?? false);
  const memberDelta = before ? 0 : 1;
  if (favouriteDelta !== 0 || memberDelta !== 0) {
    await tx.query(
      'update anime_stats set members = members + $2, favourites = favourites + $3 where anime_id = $1',
      [animeId, memberDelta, favouriteDelta],
    );
  }
  // Newly watched episodes of the current pass go to the append-only history, each (episode, pass) once:
  // one already marked by hand is not logged again.
  const wasRewatching = before?.status === 'rewatching';
  const pass =
    entry.status === 'rewatching'
      ? entry.rewatchCount + 1
      : wasRewatching
        ? (before?.rewatchCount ?? 0) + 1
        : 0;
  const from = entry.status === 'rewatching' && !wasRewatching ? 0 : (before?.progress ?? 0);
  if (entry.progress > from && options.origin !== 'import') {
    await tx.query(
      `insert into watch_history (user_id, anime_id, episode, pass, origin)
       select $1, $2, n, $3, 'progress' from generate_series($4::int, $5::int) n
       on conflict (user_id, anime_id, pass, episode) do nothing`,
      [identity.sub, animeId, pass, from + 1, entry.progress],
    );
  }
  const change = before ? 'updated' : 'added';
  const event = await enqueue(
    tx,
    newEvent('dev.isekai.library.updated.v1', {
      animeId,
      userId: identity.sub,
      change,
      status: entry.status,
      progress: entry.progress,
      rewatchCount: entry.rewatchCount,
      updatedAt: entry.updatedAt,
    }),
  );
  return { entry, change, catalogChanged: memberDelta !== 0 || favouriteDelta !== 0, events: [event] };
}

/** Remove the caller's entry (its history stays: the log is append-only). */
export async function removeEntry(
  tx: pg.ClientBase,
  identity: Identity,
  animeId: number,
): Promise<EntryWrite> {
  await lockStats(tx, animeId);
  const { rows } = await tx.query(
    `delete from library_entries e where user_id = $1 and anime_id = $2 returning ${ENTRY_SQL}`,
    [identity.sub, animeId],
  );
  if (!rows[0]) throw new NotFound(`anime ${animeId} is not on your list`);
  const before = entryView(rows[0]);
  await tx.query(
    'update anime_stats set members = members - 1, favourites = favourites - $2 where anime_id = $1',
    [animeId, Number(before.favourite)],
  );
  const event = await enqueue(
    tx,
    newEvent('dev.isekai.library.updated.v1', {
      animeId,
      userId: identity.sub,
      change: 'removed',
      status: null,
      progress: before.progress,
      rewatchCount: before.rewatchCount,
      updatedAt: new Date().toISOString(),
    }),
  );
  return { entry: null, change: 'removed', catalogChanged: true, events: [event] };
}

/**
 * Append one watched episode to the history (pass follows the entry's rewatch state). An episode already
 * logged in this pass is not logged twice: its existing row comes back with `created: false`.
 */
export async function appendHistory(
  tx: pg.ClientBase,
  identity: Identity,
  animeId: number,
  episode: number,
  watchedAt: string | undefined,
) {
  const { episodes } = await lockStats(tx, animeId);
  if (episodes !== null && episode > episodes) {
    throw new ValidationFailed(`episode ${episode} is past the last episode (${episodes})`, {
      issues: [{ field: '/body/episode', message: `must be at most ${episodes}` }],
    });
  }
  await ensureUser(tx, identity);
  const entry = await readEntry(tx, identity.sub, animeId);
  const pass = entry?.status === 'rewatching' ? entry.rewatchCount + 1 : 0;
  const { rows } = await tx.query(
    `insert into watch_history (user_id, anime_id, episode, pass, watched_at, origin)
     values ($1, $2, $3, $4, coalesce($5::timestamptz, now()), 'manual')
     on conflict (user_id, anime_id, pass, episode) do nothing
     returning id, episode, pass, watched_at, origin`,
    [identity.sub, animeId, episode, pass, watchedAt ?? null],
  );
  if (rows[0]) return { item: historyView(rows[0]), created: true };
  const existing = await tx.query(
    `select id, episode, pass, watched_at, origin from watch_history
      where user_id = $1 and anime_id = $2 and pass = $3 and episode = $4`,
    [identity.sub, animeId, pass, episode],
  );
  return { item: historyView(existing.rows[0] ?? {}), created: false };
}

export function historyView(row: Record<string, unknown>) {
  return {
    id: String(row.id),
    episode: row.episode as number,
    pass: row.pass as number,
    watchedAt: (row.watched_at as Date).toISOString(),
    origin: row.origin as string,
  };
}
