-- Up Migration
create extension if not exists pg_trgm;
create extension if not exists unaccent;

-- Users are created on first authenticated use from the token's claims (id = Keycloak `sub`).
create table users (
  id text primary key,
  username text not null,
  display_name text,
  email text,
  preferred_subtitle_languages text[] not null default '{}',
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_username_key on users (lower(username));

-- Transactional outbox: a producer inserts its CloudEvent in the same transaction as the change it
-- describes; it is published after commit, or by outbox-relay if that publish did not happen.
create table outbox (
  id text primary key,               -- the CloudEvent id
  type text not null,
  source text not null,
  subject text,
  event jsonb not null,              -- the whole structured-mode CloudEvent
  created_at timestamptz not null default now(),
  published_at timestamptz,
  attempts integer not null default 0,
  last_error text
);
create index outbox_unpublished on outbox (created_at) where published_at is null;

-- Idempotent consumers: the id of every event a consumer has applied, recorded in the same transaction
-- as its effect.
create table processed_events (
  consumer text not null,
  event_id text not null,
  event_type text not null,
  processed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);

-- Down Migration
drop table processed_events;
drop table outbox;
drop table users;
