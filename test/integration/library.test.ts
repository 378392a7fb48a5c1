import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { STATUSES } from '../../functions/lib/tracking/entry.ts';
import { libraryFromEnv } from '../../functions/library/library.ts';
import { clientCredentialsToken } from '../setup/keycloak-client.ts';
import { caller } from '../support/caller.ts';
import type { Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { ownAnime, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

const env = inject('env');
let lib = '';
let catalog = '';
let call: ReturnType<typeof caller>;
let db: pg.Pool;
let tokens: KeycloakTokens;
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'library');
  call = caller(tokens);
  const settings = trackingEnv(env, 'library-test');
  const l = await serveOnHost('library', libraryFromEnv(settings));
  const c = await serveOnHost('catalog', catalogFromEnv(settings));
  lib = l.url;
  catalog = c.url;
  closers.push(l.close, c.close);
  db = new pg.Pool({ connectionString: env.DATABASE_URL });
});
afterAll(async () => {
  for (const close of closers) await close();
  await db?.end();
  await tokens?.close();
});

const entry = (user: string, anime: number, body: unknown) =>
  call('PUT', `${lib}/me/library/${anime}`, user, body);
/**
 * An anime of the calling test's own (26 episodes unless told): other files add members to the seed
 * anime at the same time, so a shared one's counts would race.
 */
const fresh = (label: string, episodes: number | null = 26) =>
  ownAnime(env.DATABASE_URL as string, `Library ${label}`, episodes);

describe('list entries', () => {
  it('adds an entry (201), counts a member at once, and emits library.updated', async () => {
    const ids = { eva: await fresh('add') };
    const before = (await call('GET', `${catalog}/anime/${ids.eva}`)).body.stats.members;
    const added = await entry('l-amy', ids.eva, { status: 'watching', progress: 3 });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ status: 'watching', progress: 3, rewatchCount: 0 });
    expect(added.body.startedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect((await call('GET', `${catalog}/anime/${ids.eva}`)).body.stats.members).toBe(before + 1);
    const { rows } = await db.query(
      `select event from outbox where subject = $1 and event->'data'->>'userId' = '${tokens.subOf('l-amy')}'`,
      [String(ids.eva)],
    );
    expect(rows.map((r) => r.event.data)).toEqual([
      expect.objectContaining({ change: 'added', status: 'watching', progress: 3, animeId: ids.eva }),
    ]);
  });

  it('completing sets progress to the episode count and the finish date', async () => {
    const ids = { eva: await fresh('complete') };
    expect((await entry('l-amy', ids.eva, { status: 'watching', progress: 3 })).status).toBe(201);
    const done = await entry('l-amy', ids.eva, { status: 'completed' });
    expect(done.body).toMatchObject({ status: 'completed', progress: 26 });
    expect(done.body.finishedOn).not.toBeNull();
  });

  it('a progress increase without a status moves a planned entry to watching (as MAL and AniList do)', async () => {
    const ids = { eva: await fresh('plan-start'), lain: await fresh('plan-new', 13) };
    const planned = await entry('l-amy', ids.eva, { status: 'plan_to_watch' });
    expect(planned.body).toMatchObject({ status: 'plan_to_watch', progress: 0, startedOn: null });
    // A progress write that does not go up (or names its status) leaves the plan alone.
    expect((await entry('l-amy', ids.eva, { progress: 0 })).body.status).toBe('plan_to_watch');
    const started = await entry('l-amy', ids.eva, { progress: 1 });
    expect(started.status).toBe(200);
    expect(started.body).toMatchObject({ status: 'watching', progress: 1 });
    expect(started.body.startedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    // Reaching the last episode without a status keeps it watching: completion is explicit.
    expect((await entry('l-amy', ids.eva, { progress: 26 })).body).toMatchObject({
      status: 'watching',
      progress: 26,
    });
    // An explicit status always wins; a new entry added with progress only starts as watching.
    expect((await entry('l-amy', ids.lain, { status: 'plan_to_watch', progress: 2 })).body.status).toBe(
      'plan_to_watch',
    );
    await call('DELETE', `${lib}/me/library/${ids.lain}`, 'l-amy');
    expect((await entry('l-amy', ids.lain, { progress: 2 })).body).toMatchObject({
      status: 'watching',
      progress: 2,
    });
  });

  it('one entry answers as its list item does: with its anime and the caller’s score', async () => {
    const id = await fresh('item shape');
    await entry('l-amy', id, { status: 'watching', progress: 1, notes: 'mine' });
    const unrated = (await call('GET', `${lib}/me/library/${id}`, 'l-amy')).body;
    expect(unrated).toMatchObject({ animeId: id, notes: 'mine', score: null, anime: { episodes: 26 } });
    await db.query('insert into ratings (user_id, anime_id, score) values ($1, $2, 8)', [
      tokens.subOf('l-amy'),
      id,
    ]);
    const one = (await call('GET', `${lib}/me/library/${id}`, 'l-amy')).body;
    const list = (await call('GET', `${lib}/me/library?perPage=500`, 'l-amy')).body.items as Loose[];
    expect(one.score).toBe(8);
    expect(one).toEqual(list.find((item) => item.animeId === id));
  });

  it('completing an entry again fills its emptied finish date; an explicit one is kept', async () => {
    const id = await fresh('finish date');
    await entry('l-amy', id, { status: 'completed', finishedOn: null });
    expect((await call('GET', `${lib}/me/library/${id}`, 'l-amy')).body.finishedOn).toBeNull();
    const again = await entry('l-amy', id, { status: 'completed' });
    expect(again.body.finishedOn).toBe(new Date().toISOString().slice(0, 10));
    const given = await entry('l-amy', id, {
      status: 'completed',
      startedOn: '2024-01-01',
      finishedOn: '2024-03-01',
    });
    expect(given.body.finishedOn).toBe('2024-03-01');
  });

  it('a rewatch counts up and never overwrites the first watch; history keeps both passes', async () => {
    const ids = { eva: await fresh('rewatch') };
    expect((await entry('l-amy', ids.eva, { status: 'completed' })).status).toBe(201);
    const first = (await call('GET', `${lib}/me/library/${ids.eva}`, 'l-amy')).body;
    const re = await entry('l-amy', ids.eva, { status: 'rewatching', progress: 2 });
    expect(re.body).toMatchObject({ status: 'rewatching', progress: 2, rewatchCount: 0 });
    const back = await entry('l-amy', ids.eva, { status: 'completed' });
    expect(back.body).toMatchObject({
      rewatchCount: 1,
      startedOn: first.startedOn,
      finishedOn: first.finishedOn,
    });
    const history = (await call('GET', `${lib}/me/library/${ids.eva}/history`, 'l-amy')).body
      .items as Loose[];
    expect(history.filter((h) => h.pass === 0).map((h) => h.episode)).toEqual(
      Array.from({ length: 26 }, (_, i) => i + 1),
    );
    expect(history.filter((h) => h.pass === 1)).toHaveLength(26);
    await expect(db.query('update watch_history set episode = 1')).rejects.toThrow(/append-only/);
  });

  it('records single watched episodes in the history log', async () => {
    const ids = { lain: await fresh('history', 13) };
    const res = await call('POST', `${lib}/me/library/${ids.lain}/history`, 'l-amy', {
      episode: 4,
      watchedAt: '2024-05-01T20:00:00Z',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      episode: 4,
      pass: 0,
      origin: 'manual',
      watchedAt: '2024-05-01T20:00:00.000Z',
    });
  });

  it('never logs the same episode of a pass twice: marked by hand, then completed', async () => {
    const ids = { lain: await fresh('logged-once', 13) };
    await entry('l-dee', ids.lain, { status: 'watching', progress: 5 });
    const marked = await call('POST', `${lib}/me/library/${ids.lain}/history`, 'l-dee', { episode: 6 });
    expect(marked.status).toBe(201);
    const again = await call('POST', `${lib}/me/library/${ids.lain}/history`, 'l-dee', { episode: 6 });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(marked.body);
    const done = await entry('l-dee', ids.lain, { status: 'completed' });
    const history = (await call('GET', `${lib}/me/library/${ids.lain}/history`, 'l-dee')).body
      .items as Loose[];
    const logged = history.map((h) => `${h.pass}:${h.episode}`);
    expect(logged).toHaveLength(new Set(logged).size);
    expect(history.map((h) => h.episode).sort((a, b) => a - b)).toEqual(
      Array.from({ length: done.body.progress }, (_, i) => i + 1),
    );
    expect(history.find((h) => h.episode === 6)).toMatchObject({ origin: 'manual', pass: 0 });
    await expect(
      db.query(
        `insert into watch_history (user_id, anime_id, episode, pass, origin) values ('${tokens.subOf('l-dee')}', $1, 6, 0, 'manual')`,
        [ids.lain],
      ),
    ).rejects.toThrow(/watch_history_once/);
  });

  it('keeps notes, tags, priority, favourites; favourites count in the catalog', async () => {
    const ids = { flcl: await fresh('favourite', 6) };
    const fav = await entry('l-ben', ids.flcl, {
      status: 'plan_to_watch',
      favourite: true,
      notes: 'n',
      tags: ['x'],
      priority: 2,
    });
    expect(fav.body).toMatchObject({ favourite: true, notes: 'n', tags: ['x'], priority: 2 });
    expect((await call('GET', `${catalog}/anime/${ids.flcl}`)).body.stats.favourites).toBeGreaterThanOrEqual(
      1,
    );
    const mine = await call('GET', `${catalog}/anime/${ids.flcl}`, 'l-ben');
    expect(mine.body.me.entry).toMatchObject({ status: 'plan_to_watch', favourite: true });
    // one shape for an entry: the catalog's `me.entry` is the library's entry (without the anime and score the
    // single entry adds, as the list does), camelCase, UTC `Z`
    const own = await call('GET', `${lib}/me/library/${ids.flcl}`, 'l-ben');
    const { anime: _anime, score: _score, ...ownEntry } = own.body;
    expect(mine.body.me.entry).toEqual(ownEntry);
    expect(mine.body.me.entry.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T[\d:.]+Z$/);
  });

  it("shows other users' lists without private entries", async () => {
    const ids = { naruto: await fresh('public', 220), planetes: await fresh('private') };
    await entry('l-cid', ids.naruto, { status: 'dropped', progress: 10, notes: 'secret-ish' });
    await entry('l-cid', ids.planetes, { status: 'watching', progress: 1, private: true });
    const own = await call('GET', `${lib}/me/library`, 'l-cid');
    expect(own.body.total).toBe(2);
    const pub = await call('GET', `${lib}/users/${tokens.usernameOf('l-cid')}/library`);
    expect(pub.status).toBe(200);
    expect(pub.body.items.map((e: Loose) => e.animeId)).toEqual([ids.naruto]);
    expect(pub.body.items[0].notes).toBeUndefined();
    expect((await call('GET', `${lib}/users/nobody-here/library`)).status).toBe(404);
  });

  it('removes an entry: member count drops, history stays', async () => {
    const ids = { naruto: await fresh('remove', 220) };
    await entry('l-cy', ids.naruto, { status: 'dropped', progress: 10 });
    const before = (await call('GET', `${catalog}/anime/${ids.naruto}`)).body.stats.members;
    expect((await call('DELETE', `${lib}/me/library/${ids.naruto}`, 'l-cy')).status).toBe(204);
    expect((await call('GET', `${catalog}/anime/${ids.naruto}`)).body.stats.members).toBe(before - 1);
    expect((await call('GET', `${lib}/me/library/${ids.naruto}/history`, 'l-cy')).body.items).toHaveLength(
      10,
    );
    expect((await call('DELETE', `${lib}/me/library/${ids.naruto}`, 'l-cy')).status).toBe(404);
  });

  it('unknown episode counts leave progress unbounded', async () => {
    const ids = { onePiece: await fresh('unbounded', null) };
    const res = await entry('l-dan', ids.onePiece, { status: 'watching', progress: 1100 });
    expect(res.body.progress).toBe(1100);
  });
});

describe('bad list input writes nothing', () => {
  const bad: [string, Loose, string][] = [
    ['progress above the episode count', { progress: 27 }, '/body/progress'],
    ['unknown status', { status: 'binging' }, '/body/status'],
    ['malformed date', { startedOn: '2024-13-40' }, '/body/startedOn'],
    ['non-date text', { finishedOn: 'yesterday' }, '/body/finishedOn'],
    ['finish before start', { startedOn: '2024-05-02', finishedOn: '2024-05-01' }, '/body/finishedOn'],
    ['negative progress', { progress: -1 }, '/body/progress'],
    ['unknown field', { rating: 5 }, '/body'],
  ];
  expect(bad, 'bad bodies').toHaveLength(7);
  it.each(bad)('%s → 400 naming %s', async (_name, body, field) => {
    const ids = { eva: await fresh('refused') };
    const res = await entry('l-eve', ids.eva, body);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: Loose) => e.field).some((f: string) => f.startsWith(field))).toBe(true);
    if (field === '/body/status') {
      // an enumeration: one issue for the field, listing the statuses once
      expect(res.body.errors).toEqual([
        {
          field,
          message: `must be one of: ${STATUSES.join(', ')}`,
          allowed: [...STATUSES],
        },
      ]);
    }
    expect(
      (await db.query(`select 1 from library_entries where user_id = '${tokens.subOf('l-eve')}'`)).rowCount,
    ).toBe(0);
    expect(
      (await db.query(`select 1 from outbox where event->'data'->>'userId' = '${tokens.subOf('l-eve')}'`))
        .rowCount,
    ).toBe(0);
  });

  it('unknown anime → 404', async () => {
    expect((await entry('l-eve', 987654, { status: 'watching' })).status).toBe(404);
  });
});

describe('profile', () => {
  it('is created from the token and editable', async () => {
    const fresh = await call('GET', `${lib}/me`, 'l-fay');
    expect(fresh.body).toMatchObject({
      id: tokens.subOf('l-fay'),
      username: tokens.usernameOf('l-fay'),
      displayName: 'Name l-fay',
      weeklyBackup: false,
    });
    const patched = await call('PATCH', `${lib}/me`, 'l-fay', {
      displayName: 'Fay',
      preferredSubtitleLanguages: ['en', 'pt-BR'],
      weeklyBackup: true,
    });
    expect(patched.body).toMatchObject({
      displayName: 'Fay',
      preferredSubtitleLanguages: ['en', 'pt-BR'],
      weeklyBackup: true,
    });
    const bad = await call('PATCH', `${lib}/me`, 'l-fay', { preferredSubtitleLanguages: ['English!'] });
    expect(bad.status).toBe(400);
    expect(bad.body.errors[0].field).toMatch(/^\/body\/preferredSubtitleLanguages/);
  });
});

describe('an account is known from its first GET /me (the site calls it at sign-in)', () => {
  it('creates the user row once: its public list is then 200 with no items, and a re-read writes nothing', async () => {
    await tokens.sign('l-gus');
    const name = tokens.usernameOf('l-gus');
    const sub = tokens.subOf('l-gus');
    expect((await call('GET', `${lib}/users/${name}/library`)).status).toBe(404);
    const me = await call('GET', `${lib}/me`, 'l-gus');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ id: sub, username: name, displayName: 'Name l-gus' });
    const pub = await call('GET', `${lib}/users/${name}/library`);
    expect(pub.status).toBe(200);
    expect(pub.body).toMatchObject({ user: { id: sub, username: name }, items: [], total: 0 });
    const stamp = async () =>
      (await db.query('select updated_at, xmin::text as version from users where id = $1', [sub])).rows[0];
    const before = await stamp();
    expect((await call('GET', `${lib}/me`, 'l-gus')).status).toBe(200);
    expect(await stamp()).toEqual(before);
  });
});

describe('user routes refuse machines', () => {
  it('a client-credentials token of the integrator client gets 403 problem+json, nothing written', async () => {
    const { access_token } = await clientCredentialsToken(
      env,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_ID as string,
      env.KEYCLOAK_INTEGRATIONS_CLIENT_SECRET as string,
    );
    for (const [method, path, body] of [
      ['GET', '/me', undefined],
      ['PATCH', '/me', { displayName: 'Bot' }],
      ['GET', '/me/library', undefined],
    ] as const) {
      const res = await fetch(`${lib}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${access_token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as Loose).detail).toMatch(/service-account/);
    }
    const sub = (JSON.parse(Buffer.from(access_token.split('.')[1] ?? '', 'base64url').toString()) as Loose)
      .sub;
    expect((await db.query('select 1 from users where id = $1', [sub])).rowCount).toBe(0);
  });

  it('a token without any person role (integrator only) gets 403', async () => {
    const res = await caller(tokens, () => ({ roles: ['integrator'] }))('GET', `${lib}/me`, 'l-bot');
    expect(res.status).toBe(403);
    expect(res.body.code).toBe('forbidden');
  });
});

describe('display names', () => {
  it('are trimmed before they are stored', async () => {
    const res = await call('PATCH', `${lib}/me`, 'l-ivy', { displayName: '  Ivy  ' });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe('Ivy');
  });

  const bad: [string, () => string][] = [
    ['white space only', () => '   '],
    ['a line break (CR LF)', () => 'Ivy\r\nAdmin'],
    ['a bidi override (U+202E)', () => 'Ivy\u202Enimda'],
    ['a zero-width space (U+200B)', () => '\u200B'],
    ["another account's username, other case", () => tokens.usernameOf('l-amy').toUpperCase()],
    [
      "another account's username in full-width letters (NFKC)",
      // 'l' → U+FF4C: looks the same, the same name after compatibility normalisation
      () => tokens.usernameOf('l-amy').replace(/^l/, '\uFF4C'),
    ],
  ];
  expect(bad, 'bad display names').toHaveLength(6);
  it.each(bad)('%s → 400 naming /body/displayName, the name unchanged', async (_name, value) => {
    await call('GET', `${lib}/me`, 'l-amy'); // the other account exists
    expect((await call('PATCH', `${lib}/me`, 'l-jon', { displayName: 'Jon' })).status).toBe(200);
    const res = await call('PATCH', `${lib}/me`, 'l-jon', { displayName: value() });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: Loose) => e.field)).toContain('/body/displayName');
    expect((await call('GET', `${lib}/me`, 'l-jon')).body.displayName).toBe('Jon');
  });

  it("may equal the caller's own username", async () => {
    const own = tokens.usernameOf('l-jon');
    const res = await call('PATCH', `${lib}/me`, 'l-jon', { displayName: own });
    expect(res.status).toBe(200);
    expect(res.body.displayName).toBe(own);
  });
});
