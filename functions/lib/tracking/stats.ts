import type pg from 'pg';
import { NotFound } from '../errors.ts';

export const ASPECTS = ['animation', 'music', 'plot', 'characters'] as const;
export type Aspect = (typeof ASPECTS)[number];

/** The parts of a rating that aggregates are made of. */
export interface Scored {
  score: number;
  animation: number | null;
  music: number | null;
  plot: number | null;
  characters: number | null;
}

/**
 * Lock an anime's aggregate row for this transaction (every writer of anime_stats takes this lock first,
 * so concurrent ratings of one anime serialise instead of deadlocking). NotFound when the anime is unknown.
 */
export async function lockStats(tx: pg.ClientBase, animeId: number): Promise<{ episodes: number | null }> {
  const { rows } = await tx.query<{ episodes: number | null }>(
    `select a.episodes from anime_stats s join anime a on a.id = s.anime_id where s.anime_id = $1 for update of s`,
    [animeId],
  );
  if (!rows[0]) throw new NotFound(`anime ${animeId} not found`);
  return rows[0];
}

/**
 * Move the aggregates from `before` to `after` (either may be null: a first rating, a deletion) in one
 * statement: sum, count, the 1–10 distribution and each aspect. No recount scan. Returns the new count/mean.
 */
export async function applyRatingChange(
  tx: pg.ClientBase,
  animeId: number,
  before: Scored | null,
  after: Scored | null,
): Promise<{ count: number; mean: number | null }> {
  const values: unknown[] = [animeId, after?.score ?? null, before?.score ?? null];
  const aspectSets = ASPECTS.map((aspect) => {
    values.push(after?.[aspect] ?? null, before?.[aspect] ?? null);
    const n = values.length - 1;
    const o = values.length;
    return `${aspect}_sum = ${aspect}_sum + coalesce($${n}::int, 0) - coalesce($${o}::int, 0),
      ${aspect}_count = ${aspect}_count + ($${n}::int is not null)::int - ($${o}::int is not null)::int`;
  });
  const { rows } = await tx.query<{ score_count: number; mean: string | null }>(
    `update anime_stats set
       score_sum = score_sum + coalesce($2::int, 0) - coalesce($3::int, 0),
       score_count = score_count + ($2::int is not null)::int - ($3::int is not null)::int,
       distribution = (select array_agg(d + coalesce(i = $2::int, false)::int - coalesce(i = $3::int, false)::int order by i)
                       from unnest(distribution) with ordinality u(d, i)),
       ${aspectSets.join(',\n')}
     where anime_id = $1 returning score_count, mean`,
    values,
  );
  const row = rows[0];
  return { count: row?.score_count ?? 0, mean: row?.mean == null ? null : Number(row.mean) };
}
