-- Up Migration
-- Weekly backups of a user's list (MAL XML, gzipped) in object storage, one per user and ISO week
-- (backup_date is the week's Monday, UTC). A row is written only after its object is stored, so every row
-- names an object that exists; library-backup keeps the newest BACKUP_KEEP per user and deletes the rest.
create table backups (
  user_id text not null references users (id) on delete cascade,
  backup_date date not null,
  object_key text not null unique,
  size_bytes integer not null check (size_bytes > 0),
  entries integer not null check (entries >= 0),
  sha256 text not null check (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null default now(),
  primary key (user_id, backup_date)
);
-- The weekly run finds opted-in users without this week's backup.
create index users_weekly_backup on users (id) where weekly_backup;

-- Down Migration
drop index users_weekly_backup;
drop table backups;
