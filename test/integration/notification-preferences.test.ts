import { cloudEvent, http } from '@google-cloud/functions-framework';
import { Redis } from 'ioredis';
import { type Collection, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHostServer } from '../../functions/lib/host/server.ts';
import { COLLECTION, channelOf, type NotificationDoc } from '../../functions/lib/inbox/inbox.ts';
import { PREFERENCE_TYPES } from '../../functions/lib/inbox/preferences.ts';
import type { Runtime } from '../../functions/lib/runtime.ts';
import { wireNotifications } from '../../functions/notifications/settings.ts';
import { notifyFromEnv } from '../../functions/notify/settings.ts';
import { json, type Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { deliver, eventOf, eventually, seedAnime } from '../support/notify-fixtures.ts';
import { listen } from '../support/tracking.ts';

/**
 * Notification preferences per type and channel: the API of notifications (GET/PUT/PATCH
 * /me/notification-preferences, lean host, tokens from the suite's Keycloak) and notify honouring them,
 * against PostgreSQL, Redis pub/sub and the MongoDB wire server.
 */
const env = inject('env');
const run = (env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '');
const database = `isekai_prefs_${run}`.slice(0, 63);
const prefix = `${env.REDIS_KEY_PREFIX}prefs-test:`;
let ALICE = '';
let animeId = 0;
let episode = 0;
let tokens: KeycloakTokens;
let mongo: MongoClient;
let inbox: Collection<NotificationDoc>;
let notifyUrl = '';
let base = '';
let subscriber: Redis;
const live: { id: string; kind: string; data: { episode?: number } }[] = [];
const runtimes: Runtime[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  tokens = await keycloakTokens(env, 'prefs');
  await tokens.sign('alice');
  ALICE = tokens.subOf('alice');
  animeId = await seedAnime(env.DATABASE_URL as string, `Preferences Test ${run}`, [
    { id: ALICE, status: 'watching', langs: [] },
  ]);
  const common = {
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: database,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const notify = notifyFromEnv({ ...common, DATABASE_URL: env.DATABASE_URL ?? '' });
  const notifications = wireNotifications({
    ...common,
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
  });
  runtimes.push(notify.runtime, notifications.runtime);
  cloudEvent('notify', notify.handler);
  http('notifications', notifications.handler);
  const n = await listen(createHostServer({ target: 'notify', onEventError: () => undefined }));
  notifyUrl = n.url;
  const h = await listen(createHostServer({ target: 'notifications' }));
  base = h.url;
  closers.push(n.close, h.close);
  mongo = new MongoClient(env.MONGO_URL ?? '');
  await mongo.db(database).dropDatabase();
  inbox = mongo.db(database).collection<NotificationDoc>(COLLECTION);
  subscriber = new Redis(env.REDIS_URL ?? '');
  await subscriber.subscribe(channelOf(prefix, ALICE));
  subscriber.on('message', (_channel, message) => live.push(JSON.parse(message)));
}, 60_000);
afterAll(async () => {
  subscriber?.disconnect();
  for (const close of closers) await close();
  for (const r of runtimes) await r.shutdown();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
  await tokens?.close();
});

async function call(method: string, body?: unknown) {
  const res = await fetch(`${base}/me/notification-preferences`, {
    method,
    headers: {
      authorization: `Bearer ${await tokens.sign('alice')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, type: res.headers.get('content-type'), body: (await json(res)) as Loose };
}

async function airNext() {
  episode += 1;
  const event = eventOf('dev.isekai.episode.aired.v1', animeId, { episode, airedAt: '2026-11-23T16:00:00Z' });
  expect((await deliver(notifyUrl, event, 'binary')).status).toBe(204);
  return event;
}

describe('notification preferences API', () => {
  it('GET answers the defaults: inbox and live on, e-mail immediate only for invitations and moderation decisions', async () => {
    const { status, body } = await call('GET');
    expect(status).toBe(200);
    expect(Object.keys(body).sort()).toEqual([...PREFERENCE_TYPES].sort());
    expect(body['group.invited']).toEqual({ inbox: true, live: true, email: 'immediate' });
    expect(body['subtitle.removed']).toEqual({ inbox: true, live: true, email: 'immediate' });
    expect(body['subtitle.uploaded']).toEqual({ inbox: true, live: true, email: 'off' });
    expect(body['episode.aired']).toEqual({ inbox: true, live: true, email: 'off' });
  });

  it('PATCH changes only the given channels; PUT replaces (left-out types back to defaults)', async () => {
    const patched = await call('PATCH', { 'subtitle.uploaded': { email: 'daily-digest' } });
    expect(patched.status).toBe(200);
    expect(patched.body['subtitle.uploaded']).toEqual({ inbox: true, live: true, email: 'daily-digest' });
    expect((await call('GET')).body['subtitle.uploaded'].email).toBe('daily-digest');
    const replaced = await call('PUT', { 'group.release': { live: false } });
    expect(replaced.body['group.release']).toEqual({ inbox: true, live: false, email: 'off' });
    expect(replaced.body['subtitle.uploaded'].email).toBe('off');
    expect((await call('GET')).body).toEqual(replaced.body);
  });

  it('an unknown type or channel, or a bad value, is a 400 problem listing the allowed ones; nothing is changed', async () => {
    const before = (await call('GET')).body;
    const bad = await call('PATCH', {
      'anime.rated': { inbox: false },
      'episode.aired': { sms: true, inbox: false },
    });
    expect(bad.status).toBe(400);
    expect(bad.type).toMatch(/^application\/problem\+json/);
    const allowedOf = (body: Loose) =>
      Object.fromEntries(
        (body.errors as { field: string; allowed?: unknown[] }[]).map((i) => [i.field, i.allowed]),
      );
    expect(allowedOf(bad.body)).toEqual({
      '/body/anime.rated': [...PREFERENCE_TYPES],
      '/body/episode.aired/sms': ['inbox', 'live', 'email'],
    });
    expect(bad.body.detail).toContain('subtitle.next-episode');
    const value = await call('PUT', { 'episode.aired': { email: 'weekly' } });
    expect(value.status).toBe(400);
    expect(allowedOf(value.body)).toEqual({
      '/body/episode.aired/email': ['off', 'immediate', 'daily-digest'],
    });
    expect((await call('GET')).body).toEqual(before);
  });
});

describe('notify honours the preferences', () => {
  it('inbox off: nothing is stored; live off: nothing is pushed; back on: both arrive', async () => {
    // inbox off, live on: pushed live, never stored
    await call('PUT', { 'episode.aired': { inbox: false, live: true } });
    const first = await airNext();
    const pushed = await eventually(async () => live.find((v) => v.data.episode === episode));
    expect(pushed.kind).toBe('episode.aired');
    expect(await inbox.countDocuments({ eventId: first.id })).toBe(0);

    // inbox on, live off: stored, not pushed
    await call('PUT', { 'episode.aired': { inbox: true, live: false } });
    const second = await airNext();
    const quiet = episode;
    expect(await inbox.countDocuments({ eventId: second.id, userId: ALICE })).toBe(1);

    // both on: the next one is pushed; Redis delivers in publish order, so the quiet one never was
    await call('PUT', {});
    const third = await airNext();
    await eventually(async () => live.find((v) => v.data.episode === episode));
    expect(live.some((v) => v.data.episode === quiet)).toBe(false);
    expect(await inbox.countDocuments({ eventId: third.id, userId: ALICE })).toBe(1);
  });
});

describe('a hidden subtitle follows the preference of moderation decisions (subtitle.removed)', () => {
  it('stored with that type on, not stored with its inbox off', async () => {
    const hide = (subtitleId: string) =>
      eventOf('dev.isekai.subtitle.hidden.v1', animeId, {
        subtitleId,
        episode: 1,
        uploaderId: ALICE,
        hiddenBy: 'a1d4c3e2-0000-4000-8000-000000000002',
        reasons: ['out_of_sync'],
        hiddenAt: '2026-11-30T12:00:00Z',
      });
    const shown = hide('6745f0c2a1b2c3d4e5f60718');
    expect((await deliver(notifyUrl, shown, 'binary')).status).toBe(204);
    const stored = await inbox.findOne({ eventId: shown.id, userId: ALICE });
    expect(stored).toMatchObject({ kind: 'subtitle.hidden', data: { reasons: ['out_of_sync'] } });
    await call('PUT', { 'subtitle.removed': { inbox: false, live: false } });
    const quiet = hide('6745f0c2a1b2c3d4e5f60719');
    expect((await deliver(notifyUrl, quiet, 'binary')).status).toBe(204);
    expect(await inbox.countDocuments({ eventId: quiet.id })).toBe(0);
    await call('PUT', {});
  });
});
