-- Up Migration
-- A user's list. Statuses: MAL's five plus rewatching (AniList REPEATING, Shikimori rewatching).
create table library_entries (
  user_id text not null references users on delete cascade,
  anime_id integer not null references anime on delete cascade,
  status text not null check (status in
    ('watching', 'completed', 'on_hold', 'dropped', 'plan_to_watch', 'rewatching')),
  progress integer not null default 0 check (progress >= 0),
  rewatch_count integer not null default 0 check (rewatch_count >= 0),
  started_on date,
  finished_on date,
  notes text check (char_length(notes) <= 5000),
  tags text[] not null default '{}',
  priority smallint not null default 0 check (priority between 0 and 2),
  private boolean not null default false,
  favourite boolean not null default false,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  primary key (user_id, anime_id),
  check (finished_on is null or started_on is null or finished_on >= started_on)
);
create index library_entries_anime on library_entries (anime_id);
create index library_entries_user_updated on library_entries (user_id, updated_at desc);

-- Per-episode watch history: append-only. `pass` 0 is the first watch, n the n-th rewatch, so a
-- rewatch never overwrites what the first watch recorded.
create table watch_history (
  id bigint generated always as identity primary key,
  user_id text not null references users on delete cascade,
  anime_id integer not null references anime on delete cascade,
  episode integer not null check (episode > 0),
  pass integer not null default 0 check (pass >= 0),
  watched_at timestamptz not null default now(),
  origin text not null check (origin in ('progress', 'manual', 'import'))
);
create index watch_history_entry on watch_history (user_id, anime_id, id);

create function watch_history_append_only() returns trigger language plpgsql as $$
begin
  raise exception 'watch_history is append-only' using errcode = '42501';
end $$;
create trigger watch_history_no_update before update on watch_history
  for each row execute function watch_history_append_only();

-- Opt-in weekly backups of the list (stored in object storage).
alter table users add column weekly_backup boolean not null default false;
alter table users add column last_backup_at timestamptz;
alter table users add column last_backup_key text;

-- Down Migration
alter table users drop column last_backup_key;
alter table users drop column last_backup_at;
alter table users drop column weekly_backup;
drop table watch_history;
drop function watch_history_append_only;
drop table library_entries;
