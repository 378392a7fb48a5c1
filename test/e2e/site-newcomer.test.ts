import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import type { NotificationDoc } from '../../functions/lib/inbox/inbox.ts';
import { readSubtitle } from '../../functions/lib/subtitles/formats/convert.ts';
import { edgeRequest } from '../../scripts/servers/nginx.ts';
import { readNotificationStream } from './site-browser.ts';
import { notificationDoc, subtitleDoc, useSiteStack } from './site-fixture.ts';

/**
 * What the last newcomer test found, each met the way a user meets it: the built site and the API behind
 * the real nginx edge, the harness's Keycloak, Chromium (Debian's, driven by playwright-core) where a page
 * is read. The subtitle page names its anime; the inbox shows a notification once when the page and the
 * live stream both carry it; a PUT that changes nothing writes nothing; a download keeps or drops a cue
 * the parser could not read as functions/subtitles/README.md says; a title search with a typo finds the
 * anime first and an unrelated word finds no screen of noise.
 */
const DEADLINE_MS = 30_000;
const site = useSiteStack({ bulk: false, label: 'newcomer', notifications: true, bucket: true });
const { browse, tokenOf, inbox, signal, notify } = site;

/** viewer1's subject (their inbox and live channel) and a notification for them, as notify stores it. */
let viewer1 = '';
const notification = (message: string) => notificationDoc(viewer1, message);
beforeAll(async () => {
  viewer1 = (await tokenOf('viewer1')).sub;
});

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
  const bytes = Buffer.from(SRT_WITH_A_BROKEN_CUE, 'utf8');
  const doc = subtitleDoc(animeId, {
    episode: 5,
    release: '[Newcomer] Cowboy Bebop - 05',
    fileName: 'bebop-05.en.srt',
    sizeBytes: bytes.length,
    cues: readSubtitle(SRT_WITH_A_BROKEN_CUE, 'srt').cues.length,
    uploaderId: 'newcomer-e2e',
  });
  for (const Key of [doc.key, doc.originalKey])
    await site.bucket.s3.send(new PutObjectCommand({ Bucket: site.bucket.bucket, Key, Body: bytes }));
  await site.subtitles().insertOne(doc);
  return doc._id.toHexString();
}

describe('a subtitle and its downloads', () => {
  let bebop = 0;
  let subtitle = '';

  beforeAll(async () => {
    bebop = await site.animeByMal(1);
    subtitle = await publishSubtitle(bebop);
  });

  it("the subtitle page names the anime by its title (not 'Anime <id>') and links to its subtitles", async () => {
    const page = await browse();
    await page.goto(`${site.stack.siteUrl}/subtitles/${subtitle}`);
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
    const res = await edgeRequest(site.stack.edge, '', { path: `/subtitles/${subtitle}/download?${query}` });
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
    const res = await edgeRequest(site.stack.edge, '', { path: `/subtitles/${subtitle}/download?${query}` });
    expect(res.status).toBe(200);
    expect(res.body).toContain(first);
    expect(res.body).toContain('Third line.');
    expect(res.body).not.toContain('Broken timing');
  });
});

describe('the inbox shows each notification once', () => {
  it('a notification the page lists and the live stream then delivers (notify signals after storing) is shown once; a new one is added once', async () => {
    const page = await browse('viewer1');
    // Stored before the page is rendered, signalled only after its stream is open: what happens when the
    // inbox is loaded between notify's insert and its live signal.
    const early = notification(`Episode 3 aired (${randomUUID().slice(0, 8)})`);
    await inbox().insertOnce([early]);
    await page.goto(`${site.stack.siteUrl}/me/notifications`);
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
    // The replay follows the `: connected` comment at once; give up after 10 s (the test then fails).
    const { text } = await readNotificationStream(page, {
      last: first._id.toHexString(),
      until: '^event: notification\ndata: .*\n\n',
      timeoutMs: 10_000,
    });
    const ids = [...text.matchAll(/^id: ([0-9a-f]{24})$/gm)].map((m) => m[1]);
    // The opening frame names the cursor the stream resumed from, then the replay: only what came after it.
    expect(ids).toEqual([first._id.toHexString(), second._id.toHexString()]);
  });
});

describe('the page and its live stream share a cursor', () => {
  const badgeCount = async (page: Page) =>
    Number(await page.locator('#unread-badge').getAttribute('data-count'));

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
    await page.goto(`${site.stack.siteUrl}/me/notifications`);
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
    await page.goto(`${site.stack.siteUrl}/search`);
    const before = await badgeCount(page);
    await page.locator('body[data-live-connected="true"]').waitFor();
    await signal(counted);
    // A new one after it on the same channel: once it is announced, the late signal was handled.
    const next = notification(`After the late signal (${randomUUID().slice(0, 8)})`);
    await notify(next);
    await page.locator('#live-toast', { hasText: next.message }).waitFor();
    expect(await badgeCount(page)).toBe(before + 1);
  });

  it('a stream that has received nothing yet resumes after a reconnect without missing what came meanwhile', async () => {
    const page = await browse('viewer1');
    /** Open the site's stream (with `last`, when given) and read it until `until` matches or 10 s pass. */
    const read = async (last: string | null, until: string) =>
      (await readNotificationStream(page, { last, until, timeoutMs: 10_000 })).text;
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
    const trigun = await site.animeByMal(6);
    const put = (body: unknown) =>
      edgeRequest(site.stack.edge, 'api', {
        method: 'PUT',
        path: `/me/library/${trigun}`,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const events = async () =>
      Number(
        (
          await site.db.query(
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
      (await site.db.query('select members, favourites from anime_stats where anime_id = $1', [trigun]))
        .rows[0];
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
    await page.goto(`${site.stack.siteUrl}/search?q=${encodeURIComponent(q)}`);
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
