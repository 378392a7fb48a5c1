-- Up Migration
-- Ratings: a score 1–10, optional aspect scores (as the original Isekai had), an optional review.
create table ratings (
  user_id text not null references users on delete cascade,
  anime_id integer not null references anime on delete cascade,
  score smallint not null check (score between 1 and 10),
  animation smallint check (animation between 1 and 10),
  music smallint check (music between 1 and 10),
  plot smallint check (plot between 1 and 10),
  characters smallint check (characters between 1 and 10),
  review text check (char_length(review) <= 10000),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, anime_id)
);
create index ratings_reviews on ratings (anime_id, updated_at desc) where review is not null;

-- Aspect aggregates beside the score aggregates.
alter table anime_stats
  add column animation_sum bigint not null default 0, add column animation_count integer not null default 0,
  add column music_sum bigint not null default 0, add column music_count integer not null default 0,
  add column plot_sum bigint not null default 0, add column plot_count integer not null default 0,
  add column characters_sum bigint not null default 0, add column characters_count integer not null default 0;

create table episode_ratings (
  user_id text not null references users on delete cascade,
  anime_id integer not null references anime on delete cascade,
  episode integer not null check (episode > 0),
  score smallint not null check (score between 1 and 10),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, anime_id, episode)
);

create table episode_rating_stats (
  anime_id integer not null references anime on delete cascade,
  episode integer not null,
  score_sum bigint not null default 0,
  score_count integer not null default 0 check (score_count >= 0),
  primary key (anime_id, episode)
);

-- Down Migration
drop table episode_rating_stats;
drop table episode_ratings;
alter table anime_stats
  drop column animation_sum, drop column animation_count, drop column music_sum, drop column music_count,
  drop column plot_sum, drop column plot_count, drop column characters_sum, drop column characters_count;
drop table ratings;
