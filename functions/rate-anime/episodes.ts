import type { CloudEventV1 } from 'cloudevents';
import type pg from 'pg';
import { ensureUser } from '../lib/data/users.ts';
import { ValidationFailed } from '../lib/errors.ts';
import { newEvent } from '../lib/events/new-event.ts';
import { enqueue } from '../lib/events/outbox.ts';
import type { Identity } from '../lib/http/types.ts';
import { lockStats } from '../lib/tracking/stats.ts';

/**
 * An episode of the path (already a positive integer: the route's `params`) within the anime's count
 * when it is known; 400 naming `/path/episode` past the last one.
 */
export function checkEpisode(n: number, episodes: number | null): number {
  if (episodes !== null && n > episodes) {
    throw new ValidationFailed(`episode ${n} is past the last episode (${episodes})`, {
      issues: [{ field: '/path/episode', message: `must be at most ${episodes}` }],
    });
  }
  return n;
}

export interface EpisodeWrite {
  readonly episode: number;
  readonly score: number | null;
  readonly count: number;
  readonly mean: number | null;
  /** `episode.rated` (none when a removal found nothing to remove). */
  readonly events: CloudEventV1<unknown>[];
}

/**
 * Rate one episode (1–10), or remove that score (`score` null, idempotent): the per-episode aggregate
 * moves and `episode.rated` goes to the outbox, in the caller's transaction.
 */
export async function rateEpisode(
  tx: pg.ClientBase,
  identity: Identity,
  animeId: number,
  pathEpisode: number,
  score: number | null,
): Promise<EpisodeWrite> {
  const { episodes } = await lockStats(tx, animeId);
  const episode = checkEpisode(pathEpisode, episodes);
  if (score !== null) await ensureUser(tx, identity);
  const previous = await tx.query<{ score: number }>(
    score === null
      ? 'delete from episode_ratings where user_id = $1 and anime_id = $2 and episode = $3 returning score'
      : `select score from episode_ratings where user_id = $1 and anime_id = $2 and episode = $3`,
    [identity.sub, animeId, episode],
  );
  const before = previous.rows[0]?.score ?? null;
  if (score !== null) {
    await tx.query(
      `insert into episode_ratings (user_id, anime_id, episode, score) values ($1, $2, $3, $4)
       on conflict (user_id, anime_id, episode) do update set score = $4, updated_at = now()`,
      [identity.sub, animeId, episode, score],
    );
  }
  await tx.query(
    'insert into episode_rating_stats (anime_id, episode) values ($1, $2) on conflict do nothing',
    [animeId, episode],
  );
  const { rows } = await tx.query<{ score_sum: string; score_count: number }>(
    `update episode_rating_stats set
       score_sum = score_sum + coalesce($3::int, 0) - coalesce($4::int, 0),
       score_count = score_count + ($3::int is not null)::int - ($4::int is not null)::int
     where anime_id = $1 and episode = $2 returning score_sum, score_count`,
    [animeId, episode, score, before],
  );
  const count = rows[0]?.score_count ?? 0;
  const mean = count > 0 ? Math.round((Number(rows[0]?.score_sum) / count) * 100) / 100 : null;
  if (score === null && before === null) return { episode, score, count, mean, events: [] };
  const event = await enqueue(
    tx,
    newEvent('dev.isekai.episode.rated.v1', {
      animeId,
      userId: identity.sub,
      episode,
      score,
      previousScore: before,
      aggregate: { count, mean: mean ?? 0 },
      ratedAt: new Date().toISOString(),
    }),
  );
  return { episode, score, count, mean, events: [event] };
}

/** Per-episode means for an anime, with the caller's own scores when signed in. */
export async function episodeRatings(
  db: pg.Pool | pg.ClientBase,
  animeId: number,
  userId: string | undefined,
) {
  const { rows } = await db.query(
    `select s.episode, s.score_count as count, round(s.score_sum::numeric / s.score_count, 2)::float as mean,
       (select r.score from episode_ratings r where r.user_id = $2 and r.anime_id = s.anime_id
          and r.episode = s.episode) as mine
     from episode_rating_stats s where s.anime_id = $1 and s.score_count > 0 order by s.episode`,
    [animeId, userId ?? null],
  );
  return rows.map((r) => ({
    episode: r.episode,
    count: r.count,
    mean: r.mean,
    ...(userId ? { mine: r.mine } : {}),
  }));
}
