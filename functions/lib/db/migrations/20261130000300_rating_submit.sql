-- Up Migration
-- A rating write in one round trip (issue 17): the caller's user row, the anime's aggregate lock, the
-- rating (PUT replaces it whole, PATCH merges into it), the aggregates moved by the difference and the
-- `rating.submitted` outbox row, all in one statement (its own transaction, or the caller's).
-- p_input holds the fields of the write: a key left out keeps the stored value (PATCH); PUT sends them all.
-- p_event is the CloudEvent made (and validated) by the caller; its data gets score, previousScore,
-- hasReview, aggregate and ratedAt here. Errors: P0002 'anime_not_found', P0002 'no_rating' (a merge
-- without a score of an anime not rated yet).
create function rating_submit(p_sub text, p_username text, p_name text, p_email text, p_anime integer,
  p_input jsonb, p_event jsonb)
returns table (score smallint, animation smallint, music smallint, plot smallint, characters smallint,
  review text, created_at timestamptz, updated_at timestamptz, score_count integer, mean numeric,
  event jsonb)
language plpgsql as $$
declare
  prev ratings%rowtype;
  nxt ratings%rowtype;
  stats anime_stats%rowtype;
  ev jsonb;
begin
  insert into users (id, username, display_name, email)
  values (p_sub,
    case when exists (select 1 from users u where lower(u.username) = lower(p_username) and u.id <> p_sub)
         then p_username || '-' || left(p_sub, 8) else p_username end,
    p_name, p_email)
  on conflict (id) do update set email = excluded.email, updated_at = now()
  where users.email is distinct from excluded.email;

  perform 1 from anime_stats s where s.anime_id = p_anime for update;
  if not found then
    raise exception using errcode = 'P0002', message = 'anime_not_found';
  end if;

  select * into prev from ratings r where r.user_id = p_sub and r.anime_id = p_anime;
  nxt.score := case when p_input ? 'score' then (p_input->>'score')::smallint else prev.score end;
  if nxt.score is null then
    raise exception using errcode = 'P0002', message = 'no_rating';
  end if;
  nxt.animation := case when p_input ? 'animation' then (p_input->>'animation')::smallint else prev.animation end;
  nxt.music := case when p_input ? 'music' then (p_input->>'music')::smallint else prev.music end;
  nxt.plot := case when p_input ? 'plot' then (p_input->>'plot')::smallint else prev.plot end;
  nxt.characters := case when p_input ? 'characters' then (p_input->>'characters')::smallint else prev.characters end;
  nxt.review := case when p_input ? 'review' then p_input->>'review' else prev.review end;

  insert into ratings as r (user_id, anime_id, score, animation, music, plot, characters, review)
  values (p_sub, p_anime, nxt.score, nxt.animation, nxt.music, nxt.plot, nxt.characters, nxt.review)
  on conflict (user_id, anime_id) do update set score = excluded.score, animation = excluded.animation,
    music = excluded.music, plot = excluded.plot, characters = excluded.characters,
    review = excluded.review, updated_at = now()
  returning r.* into nxt;

  update anime_stats s set
    score_sum = s.score_sum + nxt.score - coalesce(prev.score, 0),
    score_count = s.score_count + 1 - (prev.score is not null)::int,
    distribution = (select array_agg(d + (i = nxt.score)::int - coalesce(i = prev.score, false)::int order by i)
                    from unnest(s.distribution) with ordinality u(d, i)),
    animation_sum = s.animation_sum + coalesce(nxt.animation, 0) - coalesce(prev.animation, 0),
    animation_count = s.animation_count + (nxt.animation is not null)::int - (prev.animation is not null)::int,
    music_sum = s.music_sum + coalesce(nxt.music, 0) - coalesce(prev.music, 0),
    music_count = s.music_count + (nxt.music is not null)::int - (prev.music is not null)::int,
    plot_sum = s.plot_sum + coalesce(nxt.plot, 0) - coalesce(prev.plot, 0),
    plot_count = s.plot_count + (nxt.plot is not null)::int - (prev.plot is not null)::int,
    characters_sum = s.characters_sum + coalesce(nxt.characters, 0) - coalesce(prev.characters, 0),
    characters_count = s.characters_count + (nxt.characters is not null)::int - (prev.characters is not null)::int
  where s.anime_id = p_anime
  returning s.* into stats;

  ev := jsonb_set(p_event, '{data}', (p_event->'data') || jsonb_build_object(
    'score', nxt.score,
    'previousScore', prev.score,
    'hasReview', nxt.review is not null,
    'aggregate', jsonb_build_object('count', stats.score_count, 'mean', coalesce(stats.mean, 0)),
    'ratedAt', to_char(nxt.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')));
  insert into outbox (id, type, source, subject, event)
  values (ev->>'id', ev->>'type', ev->>'source', ev->>'subject', ev);

  return query select nxt.score, nxt.animation, nxt.music, nxt.plot, nxt.characters, nxt.review,
    nxt.created_at, nxt.updated_at, stats.score_count, stats.mean, ev;
end
$$;

-- Down Migration
drop function rating_submit(text, text, text, text, integer, jsonb, jsonb);
