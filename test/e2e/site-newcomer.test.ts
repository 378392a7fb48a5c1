import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { MongoClient, ObjectId } from 'mongodb';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { channelOf, createInbox, type NotificationDoc, toView } from '../../functions/lib/inbox/inbox.ts';
import { readSubtitle } from '../../functions/lib/subtitles/formats/convert.ts';
import { edgeRequest } from '../../scripts/servers/nginx.ts';
import { DEV_USERS, passwordToken } from '../setup/keycloak-client.ts';
import { scratchBucket } from '../support/subtitles.ts';
import { launchChromium, type SiteStack, startSiteStack } from './site-stack.ts';

/**
 * What the last newcomer test found, each met the way a user meets it: the built site and the API behind
 * the real nginx edge, the harness's Keycloak, Chromium (Debian's, driven by playwright-core) where a page
 * is read. The subtitle page names its anime; the inbox shows a notification once when the page and the
 * live stream both carry it; a PUT that changes nothing writes nothing; a download keeps or drops a cue
 * the parser could not read as functions/subtitles/README.md says; a title search with a typo finds the
 * anime first and an unrelated word finds no screen of noise.
 */
const env = inject('env');
const DEADLINE_MS = 30_000;

let stack: SiteStack;
let browser: Browser;
let bucket: Awaited<ReturnType<typeof scratchBucket>>;
let db: pg.Pool;
let mongo: MongoClient;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  bucket = await scratchBucket(env, 'newcomer');
  stack = await startSiteStack(env, {
    bulk: false,
    label: 'newcomer',
    notifications: true,
    subtitleBucket: bucket.bucket,
  });
  db = new pg.Pool({ connectionString: stack.databaseUrl, max: 2 });
  mongo = new MongoClient(stack.mongoUrl);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  await db?.end();
  await mongo?.close();
  await stack?.stop();
  // Teardown only: a reused Ceph RGW may already be gone when its owner's run ended first.
  await bucket?.drop().catch(() => undefined);
});

/** The catalogue id of a seed anime by its MAL id. */
async function animeByMal(malId: number): Promise<number> {
  const { rows } = await db.query<{ id: number }>('select id from anime where mal_id = $1', [malId]);
  expect(rows[0], `seed anime MAL ${malId}`).toBeDefined();
  return rows[0]?.id ?? 0;
}

/** A fresh browser page (JavaScript on), anonymous or signed in as a dev user through Keycloak's form. */
async function browse(user?: keyof typeof DEV_USERS): Promise<Page> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  contexts.push(context);
  const page = await context.newPage();
  page.setDefaultTimeout(DEADLINE_MS);
  await page.goto(`${stack.siteUrl}/`);
  if (user) {
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.locator('input[name="username"]').fill(user);
    await page.locator('input[name="password"]').fill(DEV_USERS[user].password);
    await page.locator('#kc-login').click();
    await page.waitForURL(`${stack.siteUrl}/**`);
    await page.locator('.who').waitFor();
  }
  return page;
}

/** A dev user's access token and subject (their id in PostgreSQL, inboxes and events). */
async function tokenOf(user: keyof typeof DEV_USERS): Promise<{ token: string; sub: string }> {
  const token = (await passwordToken(env, user, DEV_USERS[user].password)).access_token;
  const sub = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub as string;
  return { token, sub };
}

/** An SRT file whose second cue has a timing line the parser refuses (`->`): the first and third are fine. */
const SRT_WITH_A_BROKEN_CUE = `1
00:00:01,000 --> 00:00:02,000
First line.

2
00:00:03,000 -> 00:00:04,000
Broken timing.

3
00:00:05,000 --> 00:00:06,000
Third line.
`;

/**
 * A published SRT subtitle of Cowboy Bebop episode 5, stored as the subtitles function stores an upload:
 * the file in S3 (the normalised copy and the bytes as uploaded), its document in MongoDB.
 */
async function publishSubtitle(animeId: number): Promise<string> {
  const id = new ObjectId();
  const bytes = Buffer.from(SRT_WITH_A_BROKEN_CUE, 'utf8');
  const key = `subtitles/${animeId}/${id.toHexString()}.srt`;
  const originalKey = `subtitles/${animeId}/${id.toHexString()}.original`;
  for (const Key of [key, originalKey])
    await bucket.s3.send(new PutObjectCommand({ Bucket: bucket.bucket, Key, Body: bytes }));
  await mongo
    .db(stack.mongoDatabase)
    .collection('subtitles')
    .insertOne({
      _id: id,
      animeId,
      episode: 5,
      episodeTo: null,
      language: 'en',
      format: 'srt',
      encoding: 'utf-8',
      release: '[Newcomer] Cowboy Bebop - 05',
      notes: null,
      fileName: 'bebop-05.en.srt',
      key,
      originalKey,
      sizeBytes: bytes.length,
      sha256: randomUUID().replace(/-/g, '').padEnd(64, '0'),
      cues: readSubtitle(SRT_WITH_A_BROKEN_CUE, 'srt').cues.length,
      uploaderId: 'newcomer-e2e',
      uploaderName: 'uploader1',
      status: 'published',
      downloads: 0,
      openReports: 0,
      createdAt: new Date(),
      pendingEvents: [],
    });
  return id.toHexString();
}

describe('a subtitle and its downloads', () => {
  let bebop = 0;
  let subtitle = '';

  beforeAll(async () => {
    bebop = await animeByMal(1);
    subtitle = await publishSubtitle(bebop);
  });

  it("the subtitle page names the anime by its title (not 'Anime <id>') and links to its subtitles", async () => {
    const page = await browse();
    await page.goto(`${stack.siteUrl}/subtitles/${subtitle}`);
    const anime = page.getByTestId('anime');
    expect((await anime.textContent())?.trim()).toBe('Cowboy Bebop');
    expect(await anime.getAttribute('href')).toBe(`/anime/${bebop}#subtitles`);
    expect(await page.locator('meta[name="description"]').getAttribute('content')).toContain(
      'episode 5 of Cowboy Bebop',
    );
  });

  it('the parser reads two of the three cues: the one with a broken timing line is skipped and named', () => {
    const parsed = readSubtitle(SRT_WITH_A_BROKEN_CUE, 'srt');
    expect(parsed.cues.map((c) => c.text)).toEqual(['First line.', 'Third line.']);
    expect(parsed.warnings.join('\n')).toMatch(/line 6\b/);
  });

  it.each([
    ['the original file', 'format=original'],
    ['the stored format, no other option', 'format=srt'],
  ])('%s comes as uploaded, the unreadable cue included', async (_name, query) => {
    const res = await edgeRequest(stack.edge, '', { path: `/subtitles/${subtitle}/download?${query}` });
    expect(res.status).toBe(200);
    expect(res.body).toBe(SRT_WITH_A_BROKEN_CUE);
  });

  it.each([
    ['converted to WebVTT', 'format=vtt', 'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nFirst line.'],
    [
      'shifted by 1.5 s in its own format',
      'format=srt&shift=1.5',
      '1\n00:00:02,500 --> 00:00:03,500\nFirst line.',
    ],
    ['converted to ASS', 'format=ass', 'Dialogue: 0,0:00:01.00,0:00:02.00'],
  ])('%s, the unreadable cue is dropped and the others kept', async (_name, query, first) => {
    const res = await edgeRequest(stack.edge, '', { path: `/subtitles/${subtitle}/download?${query}` });
    expect(res.status).toBe(200);
    expect(res.body).toContain(first);
    expect(res.body).toContain('Third line.');
    expect(res.body).not.toContain('Broken timing');
  });
});

describe('the inbox shows each notification once', () => {
  let redis: Redis;
  let sub = '';
  const inbox = () => createInbox(mongo.db(stack.mongoDatabase));
  const notification = (message: string): NotificationDoc => {
    const now = new Date();
    return {
      _id: new ObjectId(),
      userId: sub,
      eventId: randomUUID(),
      kind: 'episode.aired',
      animeId: null,
      message,
      data: {},
      createdAt: now,
      readAt: null,
      expiresAt: new Date(now.getTime() + 86_400_000),
    };
  };
  /** notify's live signal of a stored notification (functions/notify/notify.ts `signal`). */
  const signal = (doc: NotificationDoc) =>
    redis.publish(channelOf(stack.redisKeyPrefix, doc.userId), JSON.stringify(toView(doc)));

  beforeAll(async () => {
    redis = new Redis(env.REDIS_URL ?? '');
    sub = (await tokenOf('viewer1')).sub;
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('a notification the page lists and the live stream then delivers (notify signals after storing) is shown once; a new one is added once', async () => {
    const page = await browse('viewer1');
    // Stored before the page is rendered, signalled only after its stream is open: what happens when the
    // inbox is loaded between notify's insert and its live signal.
    const early = notification(`Episode 3 aired (${randomUUID().slice(0, 8)})`);
    await inbox().insertOnce([early]);
    await page.goto(`${stack.siteUrl}/me/notifications`);
    const item = (doc: NotificationDoc) =>
      page.locator(`li.notification[data-id="${doc._id.toHexString()}"]`);
    await expect(item(early).count()).resolves.toBe(1);
    const badge = page.locator('#unread-badge');
    const before = Number(await badge.getAttribute('data-count'));
    expect(before).toBeGreaterThanOrEqual(1);
    await page.locator('body[data-live-connected="true"]').waitFor();
    await signal(early);
    // A new notification after it on the same channel: once it is on the page, the late signal was handled.
    const later = notification(`Episode 4 aired (${randomUUID().slice(0, 8)})`);
    await inbox().insertOnce([later]);
    await signal(later);
    await page.locator('#live-list').locator(`li[data-id="${later._id.toHexString()}"]`).waitFor();
    expect(await item(early).count()).toBe(1);
    expect(await item(later).count()).toBe(1);
    expect(Number(await badge.getAttribute('data-count'))).toBe(before + 1);
    // Signalled again (a retried signal): still once.
    await signal(later);
    const last = notification(`Episode 5 aired (${randomUUID().slice(0, 8)})`);
    await inbox().insertOnce([last]);
    await signal(last);
    await item(last).waitFor();
    expect(await item(later).count()).toBe(1);
    expect(Number(await badge.getAttribute('data-count'))).toBe(before + 2);
  });

  it("the site's stream resumes after Last-Event-ID: it replays what came after that notification, not it", async () => {
    const page = await browse('viewer1');
    const [first, second] = [notification('Resume: first'), notification('Resume: second')];
    second.createdAt = new Date(first.createdAt.getTime() + 1);
    await inbox().insertOnce([first, second]);
    const ids = await page.evaluate(async (last) => {
      const controller = new AbortController();
      // The replay follows the `: connected` comment at once; give up after 10 s (the test then fails).
      const timer = setTimeout(() => controller.abort(), 10_000);
      let text = '';
      try {
        const res = await fetch('/me/notifications/stream', {
          headers: { accept: 'text/event-stream', 'last-event-id': last },
          signal: controller.signal,
        });
        const reader = (res.body as ReadableStream<Uint8Array>)
          .pipeThrough(new TextDecoderStream())
          .getReader();
        while (!/^event: notification\ndata: .*\n\n/m.test(text)) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
        }
      } catch {
        // aborted: what was read so far is the answer
      } finally {
        clearTimeout(timer);
        controller.abort();
      }
      return [...text.matchAll(/^id: ([0-9a-f]{24})$/gm)].map((m) => m[1]);
    }, first._id.toHexString());
    // The opening frame names the cursor the stream resumed from, then the replay: only what came after it.
    expect(ids).toEqual([first._id.toHexString(), second._id.toHexString()]);
  });
});

describe('the page and its live stream share a cursor', () => {
  let redis: Redis;
  let sub = '';
  const inbox = () => createInbox(mongo.db(stack.mongoDatabase));
  const notification = (message: string): NotificationDoc => {
    const now = new Date();
    return {
      _id: new ObjectId(),
      userId: sub,
      eventId: randomUUID(),
      kind: 'episode.aired',
      animeId: null,
      message,
      data: {},
      createdAt: now,
      readAt: null,
      expiresAt: new Date(now.getTime() + 86_400_000),
    };
  };
  /** notify: store, then signal (functions/notify/notify.ts). */
  const notify = async (doc: NotificationDoc) => {
    await inbox().insertOnce([doc]);
    await redis.publish(channelOf(stack.redisKeyPrefix, doc.userId), JSON.stringify(toView(doc)));
  };
  const badgeCount = async (page: Page) =>
    Number(await page.locator('#unread-badge').getAttribute('data-count'));

  beforeAll(async () => {
    redis = new Redis(env.REDIS_URL ?? '');
    sub = (await tokenOf('viewer1')).sub;
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('a notification notify stores and signals after the page is rendered but before its stream connects appears once', async () => {
    const page = await browse('viewer1');
    let between: NotificationDoc | undefined;
    let rendered = () => {};
    const read = new Promise<void>((resolve) => {
      rendered = resolve;
    });
    // The page is rendered; its stream request is held until the test has read the rendered badge and
    // notify has stored and signalled a new notification.
    let held = false;
    await page.route('**/me/notifications/stream', async (route) => {
      // Only the inbox page's first stream (the page browse() left may still open one of its own).
      const fromInbox = (route.request().headers().referer ?? '').endsWith('/me/notifications');
      if (fromInbox && !held) {
        held = true;
        await read;
        const doc = notification(`Between render and stream (${randomUUID().slice(0, 8)})`);
        await notify(doc);
        between = doc;
      }
      await route.continue();
    });
    await page.goto(`${stack.siteUrl}/me/notifications`);
    const before = await badgeCount(page);
    rendered();
    await expect.poll(() => between !== undefined, { timeout: DEADLINE_MS }).toBe(true);
    const row = page.locator(`li.notification[data-id="${between?._id.toHexString()}"]`);
    await row.waitFor();
    expect(await row.count()).toBe(1);
    await expect.poll(() => badgeCount(page), { timeout: DEADLINE_MS }).toBe(before + 1);
  });

  it('on a page without the inbox, a notification the badge counted and then signalled late is counted once', async () => {
    const page = await browse('viewer1');
    const counted = notification(`Counted, signalled late (${randomUUID().slice(0, 8)})`);
    await inbox().insertOnce([counted]);
    await page.goto(`${stack.siteUrl}/search`);
    const before = await badgeCount(page);
    await page.locator('body[data-live-connected="true"]').waitFor();
    await redis.publish(channelOf(stack.redisKeyPrefix, sub), JSON.stringify(toView(counted)));
    // A new one after it on the same channel: once it is announced, the late signal was handled.
    const next = notification(`After the late signal (${randomUUID().slice(0, 8)})`);
    await notify(next);
    await page.locator('#live-toast', { hasText: next.message }).waitFor();
    expect(await badgeCount(page)).toBe(before + 1);
  });

  it('a stream that has received nothing yet resumes after a reconnect without missing what came meanwhile', async () => {
    const page = await browse('viewer1');
    /** Open the site's stream (with `last`, when given) and read it until `until` matches or 10 s pass. */
    const read = (last: string | null, until: string) =>
      page.evaluate(
        async ([last, until]) => {
          const controller = new AbortController();
          const timer = setTimeout(() => controller.abort(), 10_000);
          let text = '';
          try {
            const res = await fetch('/me/notifications/stream', {
              headers: { accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
              signal: controller.signal,
            });
            const reader = (res.body as ReadableStream<Uint8Array>)
              .pipeThrough(new TextDecoderStream())
              .getReader();
            while (!new RegExp(until, 'm').test(text)) {
              const { value, done } = await reader.read();
              if (done) break;
              text += value;
            }
          } catch {
            // aborted: what was read so far is the answer
          } finally {
            clearTimeout(timer);
            controller.abort();
          }
          return text;
        },
        [last, until] as const,
      );
    // A stream opened with no Last-Event-ID (as a browser's first connection) names its resume point at once.
    const opened = await read(null, ': connected\n\n');
    const resumeAt = /^id: ([0-9a-f]{24})$/m.exec(opened)?.[1] ?? null;
    expect(resumeAt).toMatch(/^[0-9a-f]{24}$/);
    // Dropped before any notification; one is stored and signalled while no stream is open.
    const meanwhile = notification(`While reconnecting (${randomUUID().slice(0, 8)})`);
    await notify(meanwhile);
    const resumed = await read(resumeAt, '^event: notification\ndata: .*\n\n');
    expect([...resumed.matchAll(/^data: (.*)$/gm)].map((m) => JSON.parse(m[1] ?? '').id)).toEqual([
      meanwhile._id.toHexString(),
    ]);
  });
});

describe('PUT /me/library/{id} with what is already stored', () => {
  it('answers 200 with the entry as it was: no row update, no library.updated event in the outbox; a real change still writes', async () => {
    const { token, sub } = await tokenOf('viewer1');
    const trigun = await animeByMal(6);
    const put = (body: unknown) =>
      edgeRequest(stack.edge, 'api', {
        method: 'PUT',
        path: `/me/library/${trigun}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const events = async () =>
      Number(
        (
          await db.query(
            `select count(*) from outbox
              where event->>'type' = 'dev.isekai.library.updated.v1' and event->'data'->>'userId' = $1
                and event->'data'->>'animeId' = $2`,
            [sub, String(trigun)],
          )
        ).rows[0]?.count,
      );
    const body = { status: 'watching', progress: 2, notes: 'Vash!', tags: ['western'], favourite: true };
    const added = await put(body);
    expect(added.status, added.body).toBe(201);
    const stored = added.json();
    expect(await events()).toBe(1);
    const members = async () =>
      (await db.query('select members, favourites from anime_stats where anime_id = $1', [trigun])).rows[0];
    const stats = await members();

    for (const same of [body, { ...body, startedOn: stored.startedOn }, { progress: 2 }, {}]) {
      const again = await put(same);
      expect(again.status, JSON.stringify(same)).toBe(200);
      expect(again.json()).toEqual(stored);
    }
    expect(await events()).toBe(1);
    expect(await members()).toEqual(stats);

    const changed = await put({ ...body, progress: 3 });
    expect(changed.status).toBe(200);
    expect(changed.json()).toMatchObject({ progress: 3 });
    expect(changed.json().updatedAt).not.toBe(stored.updatedAt);
    expect(await events()).toBe(2);
  });
});

describe('title search through the site', () => {
  const results = async (page: Page, q: string) => {
    await page.goto(`${stack.siteUrl}/search?q=${encodeURIComponent(q)}`);
    const status = (await page.getByRole('status').first().textContent())?.trim() ?? '';
    const titles = await page.getByTestId('results').locator('li.card > :is(h2, h3)').allTextContents();
    return { status, titles: titles.map((t) => t.trim()) };
  };

  it.each([
    ['freiren', 'Sousou no Frieren'],
    ['monstr', 'Monster'],
    ['cowboy bebpo', 'Cowboy Bebop'],
    ['naruto shipuden', 'Naruto: Shippuuden'],
  ])('a typo (%s) finds the intended title first', async (q, title) => {
    const page = await browse();
    const { titles } = await results(page, q);
    expect(titles[0]).toBe(title);
  });

  it.each([
    ['hello', 'Bleach: Sennen Kessen-hen'],
    ['table', 'Gintama'],
  ])(
    'an unrelated word (%s) finds at most two anime, not a screen of titles sharing its first letters (%s)',
    async (q, noise) => {
      const page = await browse();
      const { status, titles } = await results(page, q);
      expect(status).toMatch(/^[0-2] anime found/);
      expect(titles.length).toBeLessThanOrEqual(2);
      expect(titles).not.toContain(noise);
    },
  );
});
