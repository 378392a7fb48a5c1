-- Up Migration
-- The history logs each episode of each pass once: marking episode 6 by hand and then completing the
-- entry used to log episode 6 of pass 0 twice. Keep the earliest row of every (episode, pass), then let
-- the unique index refuse repeats (writers insert with `on conflict do nothing`). The rows removed are
-- exact repeats of a kept row's episode and pass; the log stays append-only for updates.
delete from watch_history later using watch_history first
 where first.user_id = later.user_id and first.anime_id = later.anime_id
   and first.pass = later.pass and first.episode = later.episode and first.id < later.id;
create unique index watch_history_once on watch_history (user_id, anime_id, pass, episode);

-- Down Migration
drop index watch_history_once;
