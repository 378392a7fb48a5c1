import { cloudEvent, http } from '@google-cloud/functions-framework';
import { type ParsedMail, simpleParser } from 'mailparser';
import { type Collection, MongoClient } from 'mongodb';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createHostServer } from '../../functions/lib/host/server.ts';
import {
  createMailSender,
  MAIL_COLLECTION,
  type PendingMail,
  smtpTransport,
} from '../../functions/lib/inbox/mail.ts';
import type { Runtime } from '../../functions/lib/runtime.ts';
import { wireNotifications } from '../../functions/notifications/settings.ts';
import { notifyFromEnv } from '../../functions/notify/settings.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { json, type Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { deliver, eventOf, eventually, seedAnime } from '../support/notify-fixtures.ts';
import { listen } from '../support/tracking.ts';

/**
 * Notification e-mail end to end: notify (production wiring, SMTP_URL set) queues mail in MongoDB and
 * sends it with nodemailer to a real SMTP server this file starts (the `smtp-server` library on a free
 * port; messages read back with `mailparser`); the unsubscribe link is followed on notifications. Also
 * against PostgreSQL (users.email) and the MongoDB wire server.
 */
const env = inject('env');
const run = (env.TEST_RUN_ID ?? String(process.pid)).replace(/[^A-Za-z0-9]/g, '');
const database = `isekai_mail_${run}`.slice(0, 63);
const KEY = 'test-unsubscribe-key-0123456789abcdef';
let ALICE = '';
const ALICE_MAIL = `alice-${run}@example.test`;
let animeId = 0;
let episode = 0;
let tokens: KeycloakTokens;
let mongo: MongoClient;
let outbox: Collection<PendingMail>;
let notifyUrl = '';
let base = '';
let smtpPort = 0;
let smtp: SMTPServer | undefined;
const received: ParsedMail[] = [];
const runtimes: Runtime[] = [];
const closers: (() => Promise<void>)[] = [];

async function startSmtp(): Promise<void> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          received.push(mail);
          callback();
        })
        .catch(callback);
    },
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(smtpPort, '127.0.0.1', () => resolve());
  });
  smtp = server;
}
async function stopSmtp(): Promise<void> {
  const server = smtp;
  smtp = undefined;
  if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
}

beforeAll(async () => {
  tokens = await keycloakTokens(env, 'mail');
  await tokens.sign('alice');
  ALICE = tokens.subOf('alice');
  animeId = await seedAnime(env.DATABASE_URL as string, `Mail Test ${run}`, [
    { id: ALICE, status: 'watching', langs: [] },
  ]);
  const client = new pg.Client({ connectionString: env.DATABASE_URL });
  await client.connect();
  await client.query('update users set email = $2 where id = $1', [ALICE, ALICE_MAIL]);
  await client.end();
  smtpPort = await freePort();
  await startSmtp();
  const common = {
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: database,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}mail-test:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    UNSUBSCRIBE_KEY: KEY,
  };
  const notifications = wireNotifications({
    ...common,
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
  });
  http('notifications', notifications.handler);
  const h = await listen(createHostServer({ target: 'notifications' }));
  base = h.url;
  const notify = notifyFromEnv({
    ...common,
    DATABASE_URL: env.DATABASE_URL ?? '',
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    MAIL_FROM: 'Isekai <no-reply@isekai.test>',
    API_PUBLIC_URL: base,
  });
  runtimes.push(notify.runtime, notifications.runtime);
  cloudEvent('notify', notify.handler);
  const n = await listen(createHostServer({ target: 'notify', onEventError: () => undefined }));
  notifyUrl = n.url;
  closers.push(n.close, h.close);
  mongo = new MongoClient(env.MONGO_URL ?? '');
  await mongo.db(database).dropDatabase();
  outbox = mongo.db(database).collection<PendingMail>(MAIL_COLLECTION);
}, 60_000);
afterAll(async () => {
  await stopSmtp();
  for (const close of closers) await close();
  for (const r of runtimes) await r.shutdown();
  await mongo?.db(database).dropDatabase();
  await mongo?.close();
  await tokens?.close();
});

async function prefs(method: string, body?: unknown) {
  const res = await fetch(`${base}/me/notification-preferences`, {
    method,
    headers: {
      authorization: `Bearer ${await tokens.sign('alice')}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await json(res)) as Loose };
}
async function airNext() {
  episode += 1;
  const event = eventOf('dev.isekai.episode.aired.v1', animeId, { episode, airedAt: '2026-11-23T16:00:00Z' });
  expect((await deliver(notifyUrl, event, 'binary')).status).toBe(204);
  return event;
}
const mailsAbout = (ep: number) => received.filter((m) => m.text?.includes(`episode ${ep} has aired`));

describe('notification e-mail through a real SMTP server', () => {
  it('e-mail off (the default for episode.aired): nothing is queued or sent', async () => {
    const event = await airNext();
    expect(await outbox.countDocuments({ _id: `${ALICE}:${event.id}` })).toBe(0);
    expect(mailsAbout(episode)).toHaveLength(0);
  });

  it('immediate: one mail with a signed unsubscribe link; the link turns the e-mail off, a tampered one is a 400', async () => {
    expect((await prefs('PATCH', { 'episode.aired': { email: 'immediate' } })).status).toBe(200);
    const event = await airNext();
    const mail = await eventually(async () => mailsAbout(episode)[0]);
    expect(mail.to && 'text' in mail.to ? mail.to.text : '').toContain(ALICE_MAIL);
    expect(mail.from?.text).toContain('no-reply@isekai.test');
    expect((await outbox.findOne({ _id: `${ALICE}:${event.id}` }))?.sentAt).toBeInstanceOf(Date);
    const link = mail.text?.match(/(http\S+\/unsubscribe\?grant=\S+)/)?.[1] ?? '';
    expect(link.startsWith(`${base}/unsubscribe?grant=`)).toBe(true);
    const listUnsubscribe = mail.headerLines.find((h) => h.key === 'list-unsubscribe')?.line ?? '';
    expect(listUnsubscribe.replace(/\s+/g, '')).toContain('/unsubscribe?grant=');

    const token = new URL(link).searchParams.get('grant') ?? '';
    const flipped = `${token.slice(0, -2)}${token.endsWith('AA') ? 'BB' : 'AA'}`;
    const tampered = await fetch(`${base}/unsubscribe?grant=${encodeURIComponent(flipped)}`);
    expect(tampered.status).toBe(400);
    expect(tampered.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await prefs('GET')).body['episode.aired'].email).toBe('immediate');

    const ok = await fetch(link);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ type: 'episode.aired', email: 'off' });
    expect((await prefs('GET')).body['episode.aired']).toEqual({ inbox: true, live: true, email: 'off' });
    const after = await airNext();
    expect(await outbox.countDocuments({ _id: `${ALICE}:${after.id}` })).toBe(0);
  });

  it('SMTP down: the mail is kept and retried, then sent exactly once when the server is back', async () => {
    await prefs('PATCH', { 'episode.aired': { email: 'immediate' } });
    await stopSmtp();
    const down = await airNext();
    const downEpisode = episode;
    const pending = await eventually(async () => {
      const doc = await outbox.findOne({ _id: `${ALICE}:${down.id}` });
      return doc && doc.attempts > 0 ? doc : undefined;
    });
    expect(pending.sentAt).toBeNull();
    expect(pending.lastError).toBeTruthy();
    // A redelivered event queues nothing new (same key) and the mail is still owed.
    expect((await deliver(notifyUrl, down, 'binary')).status).toBe(204);
    expect(await outbox.countDocuments({ _id: `${ALICE}:${down.id}` })).toBe(1);

    await startSmtp();
    await airNext(); // the next event's run sends what is due, the kept mail included
    await eventually(async () =>
      mailsAbout(downEpisode).length > 0 && mailsAbout(episode).length > 0 ? true : undefined,
    );
    // A further run has nothing left to send: never twice.
    const again = createMailSender({
      db: mongo.db(database),
      transport: smtpTransport(`smtp://127.0.0.1:${smtpPort}`),
      from: 'Isekai <no-reply@isekai.test>',
      unsubscribeKey: KEY,
      apiUrl: base,
    });
    expect(await again.sendDue()).toEqual({ sent: 0, failed: 0 });
    expect(mailsAbout(downEpisode)).toHaveLength(1);
    expect((await outbox.findOne({ _id: `${ALICE}:${down.id}` }))?.sentAt).toBeInstanceOf(Date);
  });

  it("daily digest: a day's notifications wait, then go as one e-mail the next day (injected clock)", async () => {
    await prefs('PATCH', { 'episode.aired': { email: 'daily-digest' } });
    const first = episode + 1;
    await airNext();
    await airNext();
    await airNext();
    const queued = await outbox.countDocuments({ mode: 'daily-digest', sentAt: null, userId: ALICE });
    expect(queued).toBe(3);
    // notify's own runs (real clock, same day) sent none of them
    expect(received.filter((m) => m.subject?.includes('digest'))).toHaveLength(0);
    let clock = new Date();
    const sender = createMailSender({
      db: mongo.db(database),
      transport: smtpTransport(`smtp://127.0.0.1:${smtpPort}`),
      from: 'Isekai <no-reply@isekai.test>',
      unsubscribeKey: KEY,
      apiUrl: base,
      now: () => clock,
    });
    expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 });
    clock = new Date(clock.getTime() + 86_400_000);
    expect(await sender.sendDue()).toEqual({ sent: 1, failed: 0 });
    const digest = await eventually(async () => received.find((m) => m.subject?.includes('digest')));
    expect(digest.subject).toBe('Your Isekai digest: 3 notifications');
    for (const ep of [first, first + 1, first + 2]) expect(digest.text).toContain(`episode ${ep} has aired`);
    expect(digest.text).toMatch(/\/unsubscribe\?grant=/);
    expect(await sender.sendDue()).toEqual({ sent: 0, failed: 0 });
    expect(received.filter((m) => m.subject?.includes('digest'))).toHaveLength(1);
  });

  /** Pending mails written straight into the queue (as notify queues them), tagged for this test. */
  const pendingMail = (tag: string, i: number, extra: Partial<PendingMail> = {}): PendingMail => ({
    _id: `${tag}:${i}`,
    userId: `${tag}-user-${i % 3}`,
    to: `${tag}-${i % 3}@example.test`,
    kind: 'episode.aired',
    mode: 'immediate',
    subject: `${tag} mail ${i}`,
    text: `${tag} body ${i}`,
    createdAt: new Date(),
    sentAt: null,
    attempts: 0,
    ...extra,
  });
  const sender = (now?: () => Date) =>
    createMailSender({
      db: mongo.db(database),
      transport: smtpTransport(`smtp://127.0.0.1:${smtpPort}`),
      from: 'Isekai <no-reply@isekai.test>',
      unsubscribeKey: KEY,
      apiUrl: base,
      ...(now ? { now } : {}),
    });

  it('the PingSource tick (dev.knative.sources.ping) makes notify send what is due, with no other event', async () => {
    const tag = `tick${run}`;
    await outbox.insertOne(pendingMail(tag, 0));
    const tick = {
      specversion: '1.0' as const,
      id: `ping-${Date.now()}`,
      type: 'dev.knative.sources.ping',
      source: '/apis/v1/namespaces/isekai/pingsources/notify-mail-tick',
      datacontenttype: 'application/json',
      data: {},
    };
    const res = await deliver(notifyUrl, tick, 'binary');
    expect(res.status).toBe(204);
    await eventually(async () => (received.some((m) => m.subject === `${tag} mail 0`) ? true : undefined));
    expect((await outbox.findOne({ _id: `${tag}:0` }))?.sentAt).toBeInstanceOf(Date);
  });

  it('two senders racing over the same pending mails (two notify pods): each mail reaches the SMTP server once', async () => {
    const tag = `race${run}`;
    const yesterday = new Date(Date.now() - 86_400_000);
    const immediate = Array.from({ length: 24 }, (_, i) => pendingMail(tag, i));
    // Three users' digests (due: created yesterday), two items each.
    const digests = Array.from({ length: 6 }, (_, i) =>
      pendingMail(`${tag}d`, i, { mode: 'daily-digest', createdAt: yesterday }),
    );
    // A mail claimed by a pod that died (lease expired): claimed again and sent. One claimed by a live
    // pod: left to it.
    const orphan = pendingMail(tag, 100, { leaseUntil: new Date(Date.now() - 1_000), leasedBy: 'dead-pod' });
    const held = pendingMail(tag, 101, { leaseUntil: new Date(Date.now() + 600_000), leasedBy: 'live-pod' });
    await outbox.insertMany([...immediate, ...digests, orphan, held]);
    const [a, b] = [sender(), sender()];
    const reports = await Promise.all([a.sendDue(), b.sendDue(), a.sendDue(), b.sendDue()]);
    expect(reports.every((r) => r.failed === 0)).toBe(true);
    const mine = () => received.filter((m) => m.subject?.startsWith(`${tag} mail `));
    await eventually(async () => (mine().length >= immediate.length + 1 ? true : undefined));
    const subjects = mine().map((m) => m.subject);
    expect(subjects.length).toBe(new Set(subjects).size); // none twice
    expect(new Set(subjects)).toEqual(new Set([...immediate, orphan].map((m) => m.subject)));
    expect(subjects).not.toContain(held.subject);
    // Digests: one e-mail per user, each item in exactly one of them.
    const digestMails = received.filter(
      (m) => m.subject?.includes('digest') && m.text?.includes(`${tag}d body`),
    );
    const items = digestMails.flatMap((m) => m.text?.match(new RegExp(`${tag}d body \\d+`, 'g')) ?? []);
    expect(items.sort()).toEqual(digests.map((d) => d.text).sort());
    expect(digestMails).toHaveLength(3);
    expect(reports.reduce((n, r) => n + r.sent, 0)).toBe(immediate.length + 1 + 3);
    const left = await outbox.find({ _id: { $regex: `^${tag}` }, sentAt: null }).toArray();
    expect(left.map((m) => m._id)).toEqual([held._id]);
    expect(await outbox.countDocuments({ _id: { $regex: `^${tag}` }, leasedBy: { $exists: true } })).toBe(1);
  });
});
