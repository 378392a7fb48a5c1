import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { NotFound } from '../errors.ts';
import { newEvent } from '../events/new-event.ts';
import { enqueue } from '../events/outbox.ts';
import type { Identity } from '../http/types.ts';
import type { RatingInput, RatingPatch } from './rating-schemas.ts';
import { RATING_COLUMNS, type RatingView, ratingView } from './rating-view.ts';
import { applyRatingChange, lockStats, type Scored } from './stats.ts';

export { RATING_COLUMNS, type RatingView, ratingView } from './rating-view.ts';

export interface WriteResult {
  readonly rating: RatingView | null;
  readonly aggregate: { count: number; mean: number | null };
  readonly events: CloudEventV1<unknown>[];
}

type Aspect = 'animation' | 'music' | 'plot' | 'characters';
const blank = (review: string | null | undefined) => (review?.trim() ? review : null);

/**
 * The rating a write leaves (pure). `replace` (PUT): the input is the whole rating — aspects and review
 * left out are cleared. `merge` (PATCH): a field left out keeps its value, `null` clears it, aspects
 * merge one by one. Undefined when a merge has no score to keep (nothing rated yet).
 */
export function nextRating(
  before: (Scored & { review: string | null }) | null,
  input: RatingPatch,
  mode: 'replace' | 'merge',
): (Scored & { review: string | null }) | undefined {
  const score = input.score ?? (mode === 'merge' ? before?.score : undefined);
  if (score === undefined) return undefined;
  const aspect = (name: Aspect) => {
    const given = input.aspects?.[name];
    if (given !== undefined) return given;
    return mode === 'merge' ? (before?.[name] ?? null) : null;
  };
  return {
    score,
    animation: aspect('animation'),
    music: aspect('music'),
    plot: aspect('plot'),
    characters: aspect('characters'),
    review:
      input.review !== undefined ? blank(input.review) : mode === 'merge' ? (before?.review ?? null) : null,
  };
}

/** The fields a write sets, for `rating_submit`: PUT gives all of them (left out = cleared), PATCH only those sent. */
export function ratingInput(input: RatingPatch, mode: 'replace' | 'merge'): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (input.score !== undefined) out.score = input.score;
  for (const name of ['animation', 'music', 'plot', 'characters'] as const) {
    const given = input.aspects?.[name];
    if (given !== undefined) out[name] = given;
    else if (mode === 'replace') out[name] = null;
  }
  if (input.review !== undefined) out.review = blank(input.review);
  else if (mode === 'replace') out.review = null;
  return out;
}

/**
 * Create or change the caller's rating in one statement (`rating_submit`, migration
 * 20261130000300_rating_submit.sql: one round trip instead of eight): PUT replaces it whole, PATCH
 * merges into it (the rules of `nextRating`); the user row, the aggregates moved by the difference and
 * `rating.submitted` in the outbox, all or nothing — in the caller's transaction when given one, else in
 * the statement's own. The event's envelope is validated before anything is written; the fields the
 * statement adds are typed by their columns. NotFound: an unknown anime, or a PATCH without a score of
 * an anime not rated yet.
 */
export async function submitRating(
  db: { query: pg.ClientBase['query'] },
  identity: Identity,
  animeId: number,
  input: RatingInput | RatingPatch,
  options: { origin?: string; mode?: 'replace' | 'merge' } = {},
): Promise<WriteResult> {
  const mode = options.mode ?? 'replace';
  // Shape-checked with the statement's fields as placeholders; rating_submit fills the real ones.
  const draft = newEvent('dev.isekai.rating.submitted.v1', {
    animeId,
    userId: identity.sub,
    score: 1,
    previousScore: null as number | null,
    hasReview: false,
    aggregate: { count: 1, mean: 1 },
    ratedAt: new Date().toISOString(),
  });
  const known = { animeId: draft.data?.animeId, userId: draft.data?.userId };
  let row: Record<string, unknown> | undefined;
  try {
    const { rows } = await db.query(`select * from rating_submit($1, $2, $3, $4, $5, $6, $7)`, [
      identity.sub,
      identity.username,
      identity.name ?? null,
      identity.email ?? null,
      animeId,
      JSON.stringify(ratingInput(input, mode)),
      JSON.stringify({ ...draft, data: known }),
    ]);
    row = rows[0];
  } catch (error) {
    const e = error as { code?: string; message?: string };
    if (e.code === 'P0002' && e.message === 'anime_not_found')
      throw new NotFound(`anime ${animeId} not found`);
    if (e.code === 'P0002' && e.message === 'no_rating')
      throw new NotFound('you have not rated this anime: send a score first', {
        issues: [{ field: '/body/score', message: 'is required: there is no rating to change yet' }],
      });
    throw error;
  }
  const rating = ratingView(row ?? {});
  const aggregate = { count: row?.score_count as number, mean: row?.mean == null ? null : Number(row.mean) };
  return { rating, aggregate, events: [Object.freeze(row?.event as CloudEventV1<unknown>)] };
}

/**
 * Remove the caller's rating (idempotent), in the caller's transaction: the aggregates move back and
 * `rating.removed` goes to the outbox, all or nothing. Removing a rating that does not exist changes
 * nothing and emits nothing.
 */
export async function deleteRating(
  tx: pg.ClientBase,
  identity: Identity,
  animeId: number,
): Promise<WriteResult> {
  await lockStats(tx, animeId);
  const removed = await tx.query(
    `delete from ratings where user_id = $1 and anime_id = $2 returning ${RATING_COLUMNS}`,
    [identity.sub, animeId],
  );
  const before = removed.rows[0] ? ratingView(removed.rows[0]) : null;
  if (!before) return { rating: null, aggregate: await currentAggregate(tx, animeId), events: [] };
  const aggregate = await applyRatingChange(tx, animeId, before, null);
  const event = await enqueue(
    tx,
    newEvent('dev.isekai.rating.removed.v1', {
      animeId,
      userId: identity.sub,
      previousScore: before.score,
      hadReview: before.review !== null,
      aggregate: { count: aggregate.count, mean: aggregate.mean ?? 0 },
      removedAt: new Date().toISOString(),
    }),
  );
  return { rating: null, aggregate, events: [event] };
}

async function currentAggregate(tx: pg.ClientBase, animeId: number) {
  const { rows } = await tx.query<{ score_count: number; mean: string | null }>(
    'select score_count, mean from anime_stats where anime_id = $1',
    [animeId],
  );
  return { count: rows[0]?.score_count ?? 0, mean: rows[0]?.mean == null ? null : Number(rows[0].mean) };
}

/** The caller's rating of an anime, or undefined. */
export async function readRating(
  db: { query: pg.Pool['query'] } | pg.ClientBase,
  userId: string,
  animeId: number,
) {
  const { rows } = await (db as pg.ClientBase).query(
    `select ${RATING_COLUMNS} from ratings where user_id = $1 and anime_id = $2`,
    [userId, animeId],
  );
  return rows[0] ? ratingView(rows[0]) : undefined;
}
