import type { CloudEventV1 } from 'cloudevents';
import { MongoClient, ObjectId } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { groupsFromEnv } from '../../functions/groups/groups.ts';
import { LEADER_RULE } from '../../functions/groups/store.ts';
import { validateEvent } from '../../functions/lib/events/validate-event.ts';
import type { Runtime } from '../../functions/lib/runtime.ts';
import { libraryFromEnv } from '../../functions/library/library.ts';
import { wireNotifications } from '../../functions/notifications/settings.ts';
import { notifyFromEnv } from '../../functions/notify/settings.ts';
import { type Answer, caller } from '../support/caller.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { eventOf, seedAnime } from '../support/notify-fixtures.ts';
import { scratchBucket, serveSubtitleFunctions, srtOf, uploader } from '../support/subtitles.ts';
import { prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

/**
 * groups, notify and notifications together on the real PostgreSQL and the MongoDB wire server
 * (mongo-java-server, the substitute: no transactions; notify is idempotent by its unique index). Events
 * go through the outbox (no K_SINK here: they stay there) and are handed to notify as the broker would.
 */
const env = inject('env');
const run = (env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '');
const database = `isekai_groups_${run}`.slice(0, 63);
const u = (name: string) => `gr-${run}-${name}`;
const NAMES = ['lead', 'trans', 'other', 'fan', 'watcher', 'behind', 'ahead'] as const;
/** The users' ids: the `sub` of their Keycloak users (set in beforeAll); nameOf maps them back to the signer's names. */
let [LEAD, TRANS, OTHER, FAN, WATCHER, BEHIND, AHEAD] = ['', '', '', '', '', '', ''];
const nameOf = new Map<string, string>();

let groups = '';
let library = '';
let inboxUrl = '';
let signed: ReturnType<typeof caller>;
/** A JSON call as the user whose id is `sub` (a token from the suite's Keycloak). */
const call = (method: string, url: string, sub?: string, body?: unknown) =>
  signed(method, url, sub === undefined ? undefined : nameOf.get(sub), body);
let db: pg.Pool;
let mongo: MongoClient;
let notify: (event: CloudEventV1<unknown>) => Promise<unknown>;
let animeId = 0;
let tokens: KeycloakTokens;
const closers: (() => Promise<void>)[] = [];
const runtimes: Runtime[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'groups');
  const ids: string[] = [];
  for (const name of NAMES) {
    await tokens.sign(name);
    nameOf.set(tokens.subOf(name), name);
    ids.push(tokens.subOf(name));
  }
  [LEAD, TRANS, OTHER, FAN, WATCHER, BEHIND, AHEAD] = ids as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  animeId = await seedAnime(env.DATABASE_URL as string, `Groups Test ${run}`, [
    { id: LEAD, status: undefined, langs: [] },
    { id: TRANS, status: undefined, langs: [] },
    { id: OTHER, status: undefined, langs: [] },
    { id: FAN, status: undefined, langs: [] },
    { id: WATCHER, status: 'watching', langs: ['en'] },
    { id: BEHIND, status: 'watching', langs: ['en'] },
    { id: AHEAD, status: 'watching', langs: ['ja'] },
  ]);
  db = new pg.Pool({ connectionString: env.DATABASE_URL });
  await db.query('update library_entries set progress = $2 where user_id = $1 and anime_id = $3', [
    WATCHER,
    5,
    animeId,
  ]);
  await db.query('update library_entries set progress = $2 where user_id = $1 and anime_id = $3', [
    BEHIND,
    2,
    animeId,
  ]);
  await db.query('update library_entries set progress = $2 where user_id = $1 and anime_id = $3', [
    AHEAD,
    5,
    animeId,
  ]);
  signed = caller(tokens);
  const g = await serveOnHost('groups', groupsFromEnv(trackingEnv(env, 'groups-test')));
  groups = g.url;
  closers.push(g.close);
  const l = await serveOnHost('library-groups', libraryFromEnv(trackingEnv(env, 'groups-test')));
  library = l.url;
  closers.push(l.close);
  const common = {
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: database,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}groups-test:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const n = notifyFromEnv({ ...common, DATABASE_URL: env.DATABASE_URL ?? '' });
  notify = n.handler;
  const inbox = wireNotifications({
    ...common,
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
  });
  runtimes.push(n.runtime, inbox.runtime);
  const i = await serveOnHost('notifications-groups', inbox.handler);
  inboxUrl = i.url;
  closers.push(i.close);
  mongo = new MongoClient(env.MONGO_URL ?? '');
  await mongo.db(database).dropDatabase();
});
afterAll(async () => {
  for (const close of closers) await close();
  for (const r of runtimes) await r.shutdown();
  await db?.end();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
  await tokens?.close();
});

const problem = (a: Answer, status: number) => {
  expect(a.status, JSON.stringify(a.body)).toBe(status);
  expect(a.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return a.body;
};

/** The outbox events of `type` about a group (or anime subject), oldest first, checked against the catalogue. */
async function outbox(type: string, subject: string): Promise<CloudEventV1<unknown>[]> {
  const { rows } = await db.query<{ event: CloudEventV1<unknown> }>(
    'select event from outbox where type = $1 and subject = $2 order by created_at, id',
    [`dev.isekai.${type}.v1`, subject],
  );
  return rows.map((r) => validateEvent(r.event));
}

let serial = 0;
async function newGroup(leader = LEAD) {
  serial += 1;
  const slug = `g-${run.toLowerCase()}-${serial}`;
  const created = await call('POST', `${groups}/groups`, leader, {
    name: `Group ${serial}`,
    slug,
    description: 'We subtitle slice-of-life shows.',
    links: [{ label: 'IRC', url: 'https://irc.example.org/moonlight' }],
    languages: ['en'],
  });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  return created.body as { id: string; slug: string };
}

const inbox = async (user: string) =>
  (await call('GET', `${inboxUrl}/notifications`, user)).body.items as {
    id: string;
    kind: string;
    message: string;
    actions: { name: string; label: string; method: string; url: string }[];
    doneAt: string | null;
    prominent: boolean;
    data: Record<string, unknown>;
  }[];

describe('groups', () => {
  it('creates a group page with its creator as leader; a taken slug is 409, an unknown one 404', async () => {
    const g = await newGroup();
    const page = await call('GET', `${groups}/groups/${g.slug}`);
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({
      slug: g.slug,
      description: 'We subtitle slice-of-life shows.',
      links: [{ label: 'IRC', url: 'https://irc.example.org/moonlight' }],
      languages: ['en'],
      members: [{ userId: LEAD, roles: ['leader'] }],
      projects: [],
      followers: 0,
    });
    const again = await call('POST', `${groups}/groups`, OTHER, { name: 'X', slug: g.slug });
    expect(problem(again, 409).detail).toMatch(/slug .* is taken/);
    problem(await call('GET', `${groups}/groups/no-such-group-${run.toLowerCase()}`), 404);
    problem(await call('PATCH', `${groups}/groups/${g.slug}`, OTHER, { name: 'Mine now' }), 403);
    const renamed = await call('PATCH', `${groups}/groups/${g.slug}`, LEAD, { name: 'Renamed' });
    expect(renamed.body).toMatchObject({ name: 'Renamed', slug: g.slug });
  });

  it('invitation → notification with actions → accept → member listed, notification done', async () => {
    const g = await newGroup();
    const invited = await call('POST', `${groups}/groups/${g.slug}/invitations`, LEAD, {
      userId: TRANS,
      roles: ['translator', 'editor'],
    });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    expect(invited.body).toMatchObject({ userId: TRANS, status: 'pending', roles: ['translator', 'editor'] });
    const [event] = await outbox('group.invited', g.id);
    expect(event?.data).toMatchObject({ invitationId: invited.body.id, userId: TRANS, invitedBy: LEAD });
    await notify(event as CloudEventV1<unknown>);
    await notify(event as CloudEventV1<unknown>); // a redelivery adds nothing
    const mine = (await inbox(TRANS)).filter((n) => n.data.invitationId === invited.body.id);
    expect(mine).toHaveLength(1);
    const note = mine[0];
    expect(note).toMatchObject({ kind: 'group.invited', doneAt: null });
    expect(note?.message).toMatch(/invited to join Group \d+ as translator, editor/);
    expect(note?.actions).toEqual([
      {
        name: 'accept',
        label: 'Accept',
        method: 'POST',
        url: `/group-invitations/${invited.body.id}/accept`,
      },
      {
        name: 'decline',
        label: 'Decline',
        method: 'POST',
        url: `/group-invitations/${invited.body.id}/decline`,
      },
    ]);
    const accept = note?.actions.find((a) => a.name === 'accept');
    problem(await call('POST', `${groups}${accept?.url}`, OTHER), 404); // not the invitee
    const accepted = await call(accept?.method ?? 'POST', `${groups}${accept?.url}`, TRANS);
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ status: 'accepted' });
    const twice = await call('POST', `${groups}${accept?.url}`, TRANS);
    expect(twice.body).toMatchObject({ status: 'accepted', answeredAt: accepted.body.answeredAt });
    const page = (await call('GET', `${groups}/groups/${g.slug}`)).body;
    expect(page.members).toEqual([
      expect.objectContaining({ userId: LEAD, roles: ['leader'] }),
      expect.objectContaining({ userId: TRANS, roles: ['translator', 'editor'] }),
    ]);
    expect(await outbox('group.member.joined', g.id)).toHaveLength(1);
    const answered = await outbox('group.invitation.answered', g.id);
    expect(answered.map((e) => (e.data as { answer: string }).answer)).toEqual(['accepted']);
    await notify(answered[0] as CloudEventV1<unknown>);
    const done = (await inbox(TRANS)).find((n) => n.id === note?.id);
    expect(done?.doneAt).not.toBeNull();
    expect(done?.actions).toEqual([]);
    expect(done?.data.outcome).toBe('accepted');
    const late = problem(
      await call('POST', `${groups}/group-invitations/${invited.body.id}/decline`, TRANS),
      410,
    );
    expect(late.detail).toMatch(/was already accepted: it can no longer be declined/);
  });

  it('inviting twice or a member is 409; a non-leader inviting is 403; an unknown user is 404', async () => {
    const g = await newGroup();
    const path = `${groups}/groups/${g.slug}/invitations`;
    expect((await call('POST', path, LEAD, { userId: OTHER, roles: ['timer'] })).status).toBe(201);
    expect(problem(await call('POST', path, LEAD, { userId: OTHER, roles: ['timer'] }), 409).detail).toMatch(
      /already has a pending invitation/,
    );
    expect(problem(await call('POST', path, LEAD, { userId: LEAD, roles: ['timer'] }), 409).detail).toMatch(
      /already a member/,
    );
    expect(problem(await call('POST', path, OTHER, { userId: FAN, roles: ['timer'] }), 403).detail).toMatch(
      /only a leader/,
    );
    problem(await call('POST', path, LEAD, { userId: `${u('nobody')}`, roles: ['timer'] }), 404);
    problem(await call('POST', path, LEAD, { userId: FAN, roles: ['boss'] }), 400);
    expect(await outbox('group.invited', g.id)).toHaveLength(1);
  });

  it('a user who only signed in (GET /me, as the site does) can be invited', async () => {
    const g = await newGroup();
    await tokens.sign('newcomer');
    const newcomer = tokens.subOf('newcomer');
    nameOf.set(newcomer, 'newcomer');
    const path = `${groups}/groups/${g.slug}/invitations`;
    problem(await call('POST', path, LEAD, { userId: newcomer, roles: ['timer'] }), 404); // never signed in
    expect((await call('GET', `${library}/me`, newcomer)).status).toBe(200);
    const invited = await call('POST', path, LEAD, { userId: newcomer, roles: ['timer'] });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    expect(invited.body).toMatchObject({ userId: newcomer, status: 'pending' });
  });

  it('an action on a withdrawn invitation is 410 with a clear message, and the notification is closed', async () => {
    const g = await newGroup();
    const inv = (
      await call('POST', `${groups}/groups/${g.slug}/invitations`, LEAD, {
        userId: FAN,
        roles: ['typesetter'],
      })
    ).body;
    await notify((await outbox('group.invited', g.id))[0] as CloudEventV1<unknown>);
    expect((await call('DELETE', `${groups}/groups/${g.slug}/invitations/${inv.id}`, LEAD)).status).toBe(204);
    const gone = problem(await call('POST', `${groups}/group-invitations/${inv.id}/accept`, FAN), 410);
    expect(gone.detail).toBe(
      `this invitation to ${g.slug} was withdrawn by the group: it can no longer be accepted`,
    );
    await notify((await outbox('group.invitation.answered', g.id))[0] as CloudEventV1<unknown>);
    const note = (await inbox(FAN)).find((n) => n.data.invitationId === inv.id);
    expect(note).toMatchObject({ actions: [], data: expect.objectContaining({ outcome: 'revoked' }) });
  });

  it('a group always keeps a leader; members leave; a non-leader cannot remove others', async () => {
    const g = await newGroup();
    const members = `${groups}/groups/${g.slug}/members`;
    const last = problem(await call('DELETE', `${members}/${LEAD}`, LEAD), 409);
    expect(last.detail).toBe(LEADER_RULE);
    problem(await call('PUT', `${members}/${LEAD}`, LEAD, { roles: ['translator'] }), 409);
    const inv = (
      await call('POST', `${groups}/groups/${g.slug}/invitations`, LEAD, { userId: OTHER, roles: ['editor'] })
    ).body;
    expect((await call('POST', `${groups}/group-invitations/${inv.id}/accept`, OTHER)).status).toBe(200);
    problem(await call('DELETE', `${members}/${LEAD}`, OTHER), 403);
    expect(
      (await call('PUT', `${members}/${OTHER}`, LEAD, { roles: ['leader', 'editor'] })).body,
    ).toMatchObject({
      userId: OTHER,
      roles: ['leader', 'editor'],
    });
    expect((await call('DELETE', `${members}/${LEAD}`, LEAD)).status).toBe(204); // another leader remains
    expect(problem(await call('DELETE', `${members}/${OTHER}`, OTHER), 409).detail).toBe(LEADER_RULE);
    problem(await call('DELETE', `${members}/${FAN}`, OTHER), 404);
    const left = await outbox('group.member.left', g.id);
    expect(left.map((e) => e.data)).toEqual([expect.objectContaining({ userId: LEAD, removedBy: null })]);
  });

  it('projects with per-episode progress; a release reaches the followers (not the others)', async () => {
    const g = await newGroup();
    const inv = (
      await call('POST', `${groups}/groups/${g.slug}/invitations`, LEAD, {
        userId: TRANS,
        roles: ['translator'],
      })
    ).body;
    await call('POST', `${groups}/group-invitations/${inv.id}/accept`, TRANS);
    expect((await call('PUT', `${groups}/groups/${g.slug}/follow`, FAN)).status).toBe(204);
    expect((await call('PUT', `${groups}/groups/${g.slug}/follow`, FAN)).status).toBe(204);
    const projects = `${groups}/groups/${g.slug}/projects`;
    problem(await call('POST', projects, TRANS, { animeId, language: 'en' }), 403);
    const p = await call('POST', projects, LEAD, { animeId, language: 'en' });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({
      animeId,
      language: 'en',
      status: 'planned',
      episodes: [],
      releasedEpisodes: 0,
    });
    problem(await call('POST', projects, LEAD, { animeId, language: 'en' }), 409);
    problem(await call('POST', projects, LEAD, { animeId: 2_000_000_000, language: 'en' }), 404);
    problem(await call('PUT', `${projects}/${p.body.id}/episodes/1`, OTHER, { stage: 'released' }), 403);
    const editing = await call('PUT', `${projects}/${p.body.id}/episodes/1`, TRANS, { stage: 'editing' });
    expect(editing.body).toMatchObject({
      status: 'in_progress',
      episodes: [{ episode: 1, stage: 'editing' }],
    });
    const released = await call('PUT', `${projects}/${p.body.id}/episodes/1`, TRANS, { stage: 'released' });
    expect(released.body).toMatchObject({ releasedEpisodes: 1 });
    const stalled = await call('PATCH', `${projects}/${p.body.id}`, LEAD, { status: 'stalled' });
    expect(stalled.body.status).toBe('stalled');
    const page = (await call('GET', `${groups}/groups/${g.slug}`)).body;
    expect(page).toMatchObject({
      followers: 1,
      projects: [{ id: p.body.id, status: 'stalled', releasedEpisodes: 1 }],
    });
    const updates = await outbox('group.project.updated', String(animeId));
    const mine = updates.filter((e) => (e.data as { projectId: string }).projectId === p.body.id);
    expect(
      mine.map((e) => [
        (e.data as { change: string }).change,
        (e.data as { releasedEpisode: unknown }).releasedEpisode,
      ]),
    ).toEqual([
      ['created', null],
      ['status', null],
      ['episode', 1],
      ['status', null],
    ]);
    for (const e of mine) await notify(e);
    const heard = (await inbox(FAN)).filter((n) => n.data.projectId === p.body.id);
    expect(heard.map((n) => [n.kind, n.message])).toEqual([
      ['group.release', `Group ${page.name.split(' ')[1]} released Groups Test ${run} episode 1 (English)`],
    ]);
    expect((await inbox(OTHER)).filter((n) => n.data.projectId === p.body.id)).toEqual([]);
    expect((await call('DELETE', `${groups}/groups/${g.slug}/follow`, FAN)).status).toBe(204);
  });

  it('an episode past the anime’s last one is 400 naming /path/episode (nothing told); an unknown count allows it', async () => {
    const g = await newGroup();
    const projects = `${groups}/groups/${g.slug}/projects`;
    const seed = async (title: string, episodes: number | null) =>
      (
        await db.query<{ id: number }>(
          `insert into anime (sources, content_hash, title, type, status, episodes, search_text, search_vector)
           values ('{}', 'test', $1, 'tv', 'finished', $2, lower($1), to_tsvector('simple', $1)) returning id`,
          [title, episodes],
        )
      ).rows[0]?.id as number;
    const counted = await seed(`Groups Counted ${run}`, 28);
    const uncounted = await seed(`Groups Uncounted ${run}`, null);
    const p = (await call('POST', projects, LEAD, { animeId: counted, language: 'en' })).body;
    const past = problem(
      await call('PUT', `${projects}/${p.id}/episodes/99`, LEAD, { stage: 'released' }),
      400,
    );
    expect(past.code).toBe('validation_failed');
    expect(past.errors).toEqual([{ field: '/path/episode', message: 'must be at most 28' }]);
    const announced = (await outbox('group.project.updated', String(counted))).map(
      (e) => (e.data as { releasedEpisode: unknown }).releasedEpisode,
    );
    expect(announced).toEqual([null]);
    const last = await call('PUT', `${projects}/${p.id}/episodes/28`, LEAD, { stage: 'released' });
    expect(last.status, JSON.stringify(last.body)).toBe(200);
    expect(last.body.episodes).toEqual([expect.objectContaining({ episode: 28, stage: 'released' })]);
    const open = (await call('POST', projects, LEAD, { animeId: uncounted, language: 'en' })).body;
    const any = await call('PUT', `${projects}/${open.id}/episodes/99`, LEAD, { stage: 'editing' });
    expect(any.status, JSON.stringify(any.body)).toBe(200);
  });
});

describe('credits', () => {
  it('a subtitle uploaded for a group by a member shows the group and its members’ roles; a non-member is 403', async () => {
    const g = await newGroup();
    const inv = (
      await call('POST', `${groups}/groups/${g.slug}/invitations`, LEAD, {
        userId: TRANS,
        roles: ['translator', 'timer'],
      })
    ).body;
    await call('POST', `${groups}/group-invitations/${inv.id}/accept`, TRANS);
    const bucket = await scratchBucket(env, `groups-${run}`);
    const served = await serveSubtitleFunctions(env, {
      database: `${database}_subs`,
      bucket: bucket.bucket,
    });
    try {
      const send = uploader(tokens);
      const upload = (base: string, sub: string, fields: Record<string, string>, file: Uint8Array) =>
        send(base, nameOf.get(sub), fields, file);
      const fields = { animeId: String(animeId), episode: '3', language: 'en', groupId: g.id };
      const stored = await upload(
        served.uploads,
        TRANS,
        fields,
        new TextEncoder().encode(srtOf(`credits ${run}`)),
      );
      expect(stored.status, JSON.stringify(stored.body)).toBe(201);
      const credit = {
        id: g.id,
        slug: g.slug,
        members: [
          { userId: LEAD, username: LEAD, roles: ['leader'] },
          { userId: TRANS, username: TRANS, roles: ['translator', 'timer'] },
        ],
      };
      expect(stored.body.group).toMatchObject(credit);
      const read = await call('GET', `${served.subs}/subtitles/${stored.body.id}`);
      expect(read.body.group).toMatchObject(credit);
      const refused = await upload(
        served.uploads,
        OTHER,
        fields,
        new TextEncoder().encode(srtOf(`other ${run}`)),
      );
      expect(refused.status).toBe(403);
      expect(refused.body.detail).toMatch(/not a member of group/);
    } finally {
      await served.close();
      await bucket.drop();
    }
  });
});

describe('next-episode alerts', () => {
  const upload = (episode: number, language: string) =>
    eventOf('dev.isekai.subtitle.uploaded.v1', animeId, {
      subtitleId: new ObjectId().toHexString(),
      episode,
      language,
      format: 'srt',
      uploaderId: LEAD,
      sha256: 'b'.repeat(64),
      sizeBytes: 100,
      uploadedAt: '2026-11-30T10:00:00Z',
    });
  const about = (items: Awaited<ReturnType<typeof inbox>>, eventEpisode: number) =>
    items.filter((n) => n.data.episode === eventEpisode);

  it('a subtitle for progress + 1 in their language is the prominent alert, ranked first; a later episode the ordinary one', async () => {
    await notify(upload(6, 'en'));
    await notify(upload(7, 'en'));
    const items = await inbox(WATCHER);
    expect(items[0]).toMatchObject({
      kind: 'subtitle.next-episode',
      prominent: true,
      message: `Subtitles for your next episode: Groups Test ${run} episode 6, English`,
    });
    expect(about(items, 7).map((n) => [n.kind, n.prominent])).toEqual([['subtitle.uploaded', false]]);
    // Behind (progress 2) hears of episode 6 the ordinary way; Ahead wants Japanese only: nothing.
    expect(about(await inbox(BEHIND), 6).map((n) => n.kind)).toEqual(['subtitle.uploaded']);
    expect(about(await inbox(AHEAD), 6)).toEqual([]);
    // Read, it is no longer ranked first.
    const first = items[0]?.id;
    expect((await call('POST', `${inboxUrl}/notifications/${first}/read`, WATCHER)).status).toBe(204);
    const after = await inbox(WATCHER);
    expect(after.find((n) => n.id === first)?.prominent).toBe(false);
    expect(after[0]?.id).not.toBe(first);
  });

  it('episode.aired with matching subtitles already present is one combined notification, never two', async () => {
    await mongo
      .db(database)
      .collection('subtitles')
      .insertMany([
        { _id: new ObjectId(), animeId, episode: 6, language: 'en', status: 'published' },
        { _id: new ObjectId(), animeId, episode: 6, language: 'de', status: 'published' },
        { _id: new ObjectId(), animeId, episode: 6, language: 'ja', status: 'hidden' },
      ]);
    const aired = eventOf('dev.isekai.episode.aired.v1', animeId, {
      episode: 6,
      airedAt: '2026-11-30T12:00:00Z',
    });
    await notify(aired);
    const mongoDocs = (who: string) =>
      mongo.db(database).collection('notifications').find({ eventId: aired.id, userId: who }).toArray();
    const watcher = await mongoDocs(WATCHER);
    expect(watcher.map((d) => [d.kind, d.message, d.rank])).toEqual([
      [
        'subtitle.next-episode',
        `Groups Test ${run} episode 6 has aired. Subtitles for your next episode: Groups Test ${run} episode 6, English`,
        1,
      ],
    ]);
    expect((await mongoDocs(BEHIND)).map((d) => d.kind)).toEqual(['episode.aired']);
    // Ahead's next episode is 6 but it wants Japanese, which is hidden: the ordinary aired notification.
    expect((await mongoDocs(AHEAD)).map((d) => d.kind)).toEqual(['episode.aired']);
  });
});
