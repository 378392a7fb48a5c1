import type pg from 'pg';
import { expect } from 'vitest';

/**
 * The anime's ratings are whole: `anime_stats` count and sum equal its ratings, every rater has a
 * `rating.submitted` in the outbox and no event names a user without a rating. Returns the scores by user.
 */
export async function wholeRatings(pool: pg.Pool, anime: number): Promise<Map<string, number>> {
  const { rows } = await pool.query<{
    ratings: string;
    sum: string | null;
    score_count: number;
    score_sum: string;
    outboxed: string;
    unrated_events: string;
  }>(
    `select (select count(*) from ratings where anime_id = $1) as ratings,
            (select sum(score) from ratings where anime_id = $1) as sum,
            s.score_count, s.score_sum,
            (select count(distinct event->'data'->>'userId') from outbox
              where type = 'dev.isekai.rating.submitted.v1' and subject = $1::text) as outboxed,
            (select count(*) from outbox o where o.type = 'dev.isekai.rating.submitted.v1'
              and o.subject = $1::text and not exists (select 1 from ratings r where r.anime_id = $1
              and r.user_id::text = o.event->'data'->>'userId')) as unrated_events
     from anime_stats s where s.anime_id = $1`,
    [anime],
  );
  const r = rows[0];
  expect(r, `anime ${anime} has aggregates`).toBeDefined();
  expect(r?.score_count).toBe(Number(r?.ratings));
  expect(Number(r?.score_sum)).toBe(Number(r?.sum ?? 0));
  expect(Number(r?.outboxed)).toBe(Number(r?.ratings));
  expect(Number(r?.unrated_events)).toBe(0);
  const scores = await pool.query<{ user_id: string; score: number }>(
    'select user_id, score from ratings where anime_id = $1',
    [anime],
  );
  return new Map(scores.rows.map((s) => [s.user_id, s.score]));
}
