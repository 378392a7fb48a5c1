-- Up Migration
-- Fansub groups (functions/groups): the group page, members with roles, invitations, translation projects
-- with per-episode progress, followers.
create table fansub_groups (
  id uuid primary key default gen_random_uuid(),
  slug text not null check (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 64),
  name text not null check (char_length(name) between 1 and 100),
  description text not null default '' check (char_length(description) <= 5000),
  links jsonb not null default '[]',
  languages text[] not null default '{}',
  created_by text not null references users,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index fansub_groups_slug on fansub_groups (slug);

-- Roles: leader, translator, editor, timer, typesetter, quality_checker (at least one each).
create table group_members (
  group_id uuid not null references fansub_groups on delete cascade,
  user_id text not null references users on delete cascade,
  roles text[] not null check (cardinality(roles) > 0 and roles <@ array['leader', 'translator', 'editor',
    'timer', 'typesetter', 'quality_checker']),
  joined_at timestamptz not null default now(),
  primary key (group_id, user_id)
);
create index group_members_user on group_members (user_id);

-- An invitation is answered once: pending → accepted | declined, or revoked by a leader.
create table group_invitations (
  id uuid primary key default gen_random_uuid(),
  group_id uuid not null references fansub_groups on delete cascade,
  user_id text not null references users on delete cascade,
  roles text[] not null check (cardinality(roles) > 0),
  invited_by text not null references users,
  status text not null default 'pending' check (status in ('pending', 'accepted', 'declined', 'revoked')),
  created_at timestamptz not null default now(),
  answered_at timestamptz
);
-- One open invitation per user and group (a second one is 409).
create unique index group_invitations_pending on group_invitations (group_id, user_id) where status = 'pending';

create table group_projects (
  id uuid primary key default gen_random_uuid(),
  group_id uuid not null references fansub_groups on delete cascade,
  anime_id integer not null references anime on delete cascade,
  language text not null,
  status text not null check (status in ('planned', 'in_progress', 'released', 'stalled', 'dropped')),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (group_id, anime_id, language)
);

-- Per-episode progress of a project: the stage each episode has reached.
create table group_project_episodes (
  project_id uuid not null references group_projects on delete cascade,
  episode integer not null check (episode between 1 and 10000),
  stage text not null check (stage in ('translation', 'editing', 'timing', 'typesetting', 'quality_check',
    'released')),
  updated_at timestamptz not null default now(),
  primary key (project_id, episode)
);

create table group_followers (
  group_id uuid not null references fansub_groups on delete cascade,
  user_id text not null references users on delete cascade,
  followed_at timestamptz not null default now(),
  primary key (group_id, user_id)
);
create index group_followers_user on group_followers (user_id);

-- Down Migration
drop table group_followers;
drop table group_project_episodes;
drop table group_projects;
drop table group_invitations;
drop table group_members;
drop table fansub_groups;
