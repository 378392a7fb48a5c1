-- Up Migration
-- Dead letters: every event the Broker gave up delivering (after its last retry, or at once on a
-- permanent 4xx), as the dead-letter sink `dead-letters` received it, with the broker's error extensions.
-- One row per (event, failed destination): a redelivery of the same dead letter is a no-op, while the
-- same event failing at two subscribers is two dead letters.
create table dead_letters (
  id bigint generated always as identity primary key,
  event_id text not null,
  event_source text not null,
  event_type text not null,
  subject text,
  error_dest text not null default '',  -- knativeerrordest: the subscriber URL that failed
  error_code integer,                   -- knativeerrorcode: its last HTTP status, -1 for no answer
  error_data text,                      -- knativeerrordata: the start of its answer
  event jsonb not null,                 -- the whole event (structured mode, error extensions included)
  received_at timestamptz not null default now(),
  requeued_at timestamptz,
  unique (event_source, event_id, error_dest)
);
create index dead_letters_recent on dead_letters (received_at desc);

-- Down Migration
drop table dead_letters;
