import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { ensureUser } from '../data/users.ts';
import { NotFound } from '../errors.ts';
import { enqueue } from '../events/outbox.ts';
import type { Identity } from '../http/types.ts';
import type { RatingInput, RatingPatch } from './rating-schemas.ts';
import { RATING_COLUMNS, type RatingView, ratingView } from './rating-view.ts';
import { applyRatingChange, lockStats, type Scored } from './stats.ts';

export const SOURCE = '/functions/rate-anime';

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

/**
 * Create or change the caller's rating, in the caller's transaction: PUT replaces it whole, PATCH
 * merges into it (see `nextRating`); the aggregates move by the difference and `rating.submitted` goes
 * to the outbox, all or nothing. A PATCH without a score of an anime not rated yet is 404.
 */
export async function submitRating(
  tx: pg.ClientBase,
  identity: Identity,
  animeId: number,
  input: RatingInput | RatingPatch,
  options: { traceparent?: string; origin?: string; mode?: 'replace' | 'merge' } = {},
): Promise<WriteResult> {
  await ensureUser(tx, identity);
  await lockStats(tx, animeId);
  const previous = await tx.query(
    `select ${RATING_COLUMNS} from ratings where user_id = $1 and anime_id = $2`,
    [identity.sub, animeId],
  );
  const before = previous.rows[0] ? ratingView(previous.rows[0]) : null;
  const next = nextRating(before, input, options.mode ?? 'replace');
  if (!next)
    throw new NotFound('you have not rated this anime: send a score first', {
      issues: [{ field: '/body/score', message: 'is required: there is no rating to change yet' }],
    });
  const saved = await tx.query(
    `insert into ratings (user_id, anime_id, score, animation, music, plot, characters, review)
     values ($1, $2, $3, $4, $5, $6, $7, $8)
     on conflict (user_id, anime_id) do update set score = $3, animation = $4, music = $5, plot = $6,
       characters = $7, review = $8, updated_at = now()
     returning ${RATING_COLUMNS}`,
    [identity.sub, animeId, next.score, next.animation, next.music, next.plot, next.characters, next.review],
  );
  const rating = ratingView(saved.rows[0] ?? {});
  const aggregate = await applyRatingChange(tx, animeId, before, rating);
  const event = await enqueue(tx, {
    type: 'dev.isekai.rating.submitted.v1',
    source: SOURCE,
    subject: String(animeId),
    data: {
      animeId,
      userId: identity.sub,
      score: rating.score,
      previousScore: before?.score ?? null,
      hasReview: rating.review !== null,
      aggregate: { count: aggregate.count, mean: aggregate.mean ?? 0 },
      ratedAt: rating.updatedAt,
    },
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
  });
  return { rating, aggregate, events: [event] };
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
  options: { traceparent?: string } = {},
): Promise<WriteResult> {
  await lockStats(tx, animeId);
  const removed = await tx.query(
    `delete from ratings where user_id = $1 and anime_id = $2 returning ${RATING_COLUMNS}`,
    [identity.sub, animeId],
  );
  const before = removed.rows[0] ? ratingView(removed.rows[0]) : null;
  if (!before) return { rating: null, aggregate: await currentAggregate(tx, animeId), events: [] };
  const aggregate = await applyRatingChange(tx, animeId, before, null);
  const event = await enqueue(tx, {
    type: 'dev.isekai.rating.removed.v1',
    source: SOURCE,
    subject: String(animeId),
    data: {
      animeId,
      userId: identity.sub,
      previousScore: before.score,
      hadReview: before.review !== null,
      aggregate: { count: aggregate.count, mean: aggregate.mean ?? 0 },
      removedAt: new Date().toISOString(),
    },
    ...(options.traceparent ? { traceparent: options.traceparent } : {}),
  });
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
