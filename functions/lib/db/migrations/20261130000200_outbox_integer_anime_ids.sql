-- Up Migration
-- Event data carries anime ids as integers (events/schemas/common.ts AnimeId). Events still waiting in the
-- outbox were written with the decimal string; rewrite them so the broker ingress accepts them. Published
-- rows are history and stay as they were.
update outbox
   set event = jsonb_set(event, '{data,animeId}', to_jsonb((event #>> '{data,animeId}')::integer))
 where published_at is null
   and jsonb_typeof(event #> '{data,animeId}') = 'string'
   and event #>> '{data,animeId}' ~ '^[1-9][0-9]{0,8}$';

-- Down Migration
update outbox
   set event = jsonb_set(event, '{data,animeId}', to_jsonb(event #>> '{data,animeId}'))
 where published_at is null
   and jsonb_typeof(event #> '{data,animeId}') = 'number';
