import { writeFile } from 'node:fs/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { edgeRequest } from '../../scripts/servers/nginx.ts';
import { createUser, type RealmUser } from '../setup/keycloak-client.ts';
import { ownAnime } from '../support/tracking.ts';
import { makeZip } from '../support/zip.ts';
import {
  artifact,
  axeViolations,
  fillLogin,
  inkInBoxes,
  launchChromium,
  openSite,
  readNotificationStream,
  shot as screenshot,
  submit,
  text,
} from './site-browser.ts';
import { type ChainSite, startChainSite } from './site-stack.ts';

/**
 * Issue 12's story in real Chromium (Debian's, driven by playwright-core) through the nginx edge, with the
 * harness's real Keycloak, every function on its production wiring and the broker on RabbitMQ delivering to
 * the real notify (test/support/chain-stack.ts), and the built site in front of them. Four people at once,
 * each in a browser context of their own: A (viewer) has the anime on the list; B (uploader) uploads a
 * subtitle for A's next episode through the site; A's open page shows the notification live and the badge
 * rises; A downloads it as WebVTT shifted by 1.5 s, previews the ASS with libass (pixels checked where the
 * sign is positioned), reports it; a moderator M removes it with a note; B reads the decision in the inbox;
 * C, signed in all along, never sees any of A's notifications. axe-core on every new page; screenshots in
 * test/e2e/site-artifacts/story-*.png.
 */
const env = inject('env');
const DEADLINE_MS = 60_000;
const ROLES = {
  a: ['viewer'],
  b: ['viewer', 'uploader'],
  c: ['viewer'],
  m: ['viewer', 'moderator'],
} as const;
type Who = keyof typeof ROLES;

/** An ASS script: a sign positioned top right (\pos(480,80), centred: \an5) and a dialogue line. */
const ASS = `[Script Info]
Title: Isekai story
ScriptType: v4.00+
PlayResX: 640
PlayResY: 360
WrapStyle: 0

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Liberation Sans,28,&H00FFFFFF,&H000000FF,&H00000000,&H00000000,0,0,0,0,100,100,0,0,1,2,0,2,20,20,20,1
Style: Sign,Liberation Sans,44,&H0000FFFF,&H000000FF,&H00000000,&H00000000,-1,0,0,0,100,100,0,0,1,3,0,5,0,0,0,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:04.00,Sign,,0,0,0,,{\\pos(480,80)}SHOP SIGN
Dialogue: 0,0:00:01.50,0:00:03.50,Default,,0,0,0,,Welcome to the other world.
`;
/** The sign's box on the 640×360 preview (around \pos(480,80)) and a box far from any text. */
const SIGN_BOX = { left: 380, top: 50, width: 200, height: 60 };
const EMPTY_BOX = { left: 20, top: 20, width: 200, height: 60 };

let site: ChainSite;
let browser: Browser;
let siteUrl: string;
let anime: number;
const users = {} as Record<Who, RealmUser>;
const contexts: BrowserContext[] = [];
const pages = {} as Record<Who, Page>;
let subtitleId = '';

beforeAll(async () => {
  site = await startChainSite(env, 'site-story');
  siteUrl = site.siteUrl;
  anime = await ownAnime(site.chain.functions.databaseUrl, 'Site story', 12);
  const suffix = `${process.pid}-${Date.now().toString(36)}`;
  for (const [who, roles] of Object.entries(ROLES))
    users[who as Who] = await createUser(env, `story-${who}-${suffix}`, roles);
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  for (const c of contexts) await c.close().catch(() => undefined);
  await browser?.close();
  for (const user of Object.values(users)) await user.remove().catch(() => undefined);
  await site?.stop();
});

const shot = (page: Page, name: string) => screenshot(page, `story-${name}`);

/** A browser context of its own, signed in as `who` through Keycloak's login form. */
async function signedIn(who: Who, options: { js?: boolean; bypassCSP?: boolean } = {}): Promise<Page> {
  const page = await openSite(browser, siteUrl, users[who], {
    javaScriptEnabled: options.js ?? true,
    bypassCSP: options.bypassCSP ?? false,
    acceptDownloads: true,
    viewport: { width: 1200, height: 900 },
  });
  contexts.push(page.context());
  return page;
}

const badge = (page: Page) => page.locator('#unread-badge');
const badgeCount = async (page: Page) => Number(await badge(page).getAttribute('data-count'));

/** Wait until the page's live stream is connected (the relay answered and the reader runs). */
const liveConnected = (page: Page) =>
  page.locator('body[data-live-connected="true"]').waitFor({ timeout: DEADLINE_MS });

describe('the story: upload → live notification → download → preview → report → removal → decision', () => {
  it('A signs in and has the anime on the list, watched up to episode 3; C and M sign in and keep a page open', async () => {
    pages.a = await signedIn('a');
    await pages.a.goto(`${siteUrl}/anime/${anime}`);
    await pages.a.getByLabel('Status').selectOption('watching');
    await submit(pages.a, pages.a.getByRole('button', { name: 'Add to my list' }));
    await pages.a.getByLabel('Episodes watched').fill('3');
    await submit(pages.a, pages.a.getByRole('button', { name: 'Save entry' }));
    expect(await text(pages.a.getByTestId('progress'))).toMatch(/^Watching · 3 \//);
    expect(await text(pages.a.locator('#subtitles'))).toContain('0 published subtitles');
    pages.c = await signedIn('c');
    await pages.c.goto(`${siteUrl}/me/notifications`);
    pages.m = await signedIn('m', { bypassCSP: true });
    await Promise.all([liveConnected(pages.a), liveConnected(pages.c)]);
    expect(await badgeCount(pages.a)).toBe(0);
    expect(await badgeCount(pages.c)).toBe(0);
  });

  it("B uploads an ASS subtitle for A's next episode through the site (JS: progress, then the verdict); A's open page shows it live and the badge rises", async () => {
    pages.b = await signedIn('b');
    await pages.b.goto(`${siteUrl}/anime/${anime}`);
    await submit(pages.b, pages.b.getByRole('link', { name: 'Upload a subtitle' }));
    expect(await pages.b.getByLabel('Anime id').inputValue()).toBe(String(anime));
    await pages.b.getByLabel('Episode', { exact: true }).fill('4');
    await pages.b.getByLabel('Language').fill('en');
    await pages.b.getByLabel('Release name (optional)').fill('Story.S01E04.1080p');
    await pages.b.getByLabel('Frame rate of the video (optional)').selectOption('23.976');
    await pages.b
      .getByLabel('Subtitle file or zip')
      .setInputFiles({ name: 'story-04.ass', mimeType: 'text/x-ssa', buffer: Buffer.from(ASS) });
    // With JavaScript the form goes up in the background: no reload (a marker on window survives).
    await pages.b.evaluate(() => Object.assign(globalThis, { noReload: true }));
    const clicked = Date.now();
    await pages.b.getByRole('button', { name: 'Upload' }).click();
    const verdict = pages.b.locator('[data-testid="verdicts"] li').first();
    await verdict.waitFor();
    const answered = Date.now();
    expect(await verdict.getAttribute('data-outcome')).toBe('imported');
    expect(await pages.b.evaluate(() => (globalThis as { noReload?: boolean }).noReload)).toBe(true);
    expect(await pages.b.locator('#upload-progress').getAttribute('value')).toBe('100');
    const href = (await verdict.getByRole('link').getAttribute('href')) ?? '';
    subtitleId = href.split('/').pop() ?? '';
    expect(subtitleId).toMatch(/^[0-9a-f]{24}$/);
    await shot(pages.b, 'b-upload-verdict');

    // Episode 4 is A's next episode (progress 3, English): notify's next-episode alert (issue 14).
    await pages.a
      .locator('#live-toast', { hasText: /Subtitles for your next episode: .* episode 4, English/ })
      .waitFor({ timeout: DEADLINE_MS });
    const shown = Date.now();
    await badge(pages.a).locator('.unread', { hasText: /^1$/ }).waitFor();
    process.stdout.write(
      `[site-story] live notification on A's open page ${shown - clicked} ms after B clicked Upload (${shown - answered} ms after B saw the verdict)\n`,
    );
    expect(await badgeCount(pages.a)).toBe(1);
    await shot(pages.a, 'a-live-notification');
    // The browser never held a token: the session cookie is its only credential.
    const cookies = (await pages.a.context().cookies(siteUrl)).filter((c) => c.domain === 'isekai.localhost');
    expect(cookies.map((c) => c.name)).toEqual(['__Host-isekai-sid']);
  });

  it("A's page lists it under episode 4 (★ next episode); A downloads it as WebVTT shifted by 1.5 s and the cues moved", async () => {
    await pages.a.reload();
    const group = pages.a.locator('.subtitle-group[data-episode="4"][data-language="en"]');
    expect(await text(group.locator('h3'))).toContain('★ your next episode');
    const row = group.locator(`tr[data-subtitle="${subtitleId}"]`);
    expect(await text(row)).toContain('Story.S01E04.1080p');
    expect(await text(row)).toContain('ASS');
    await row.locator('summary', { hasText: 'Download' }).click();
    await row.getByLabel('Format').selectOption('vtt');
    await row.getByLabel('Shift (seconds)').fill('1.5');
    const download = pages.a.waitForEvent('download');
    await row.getByRole('button', { name: 'Download' }).click();
    const file = await download;
    const body = Buffer.concat((await (await file.createReadStream()).toArray()) as Buffer[]).toString(
      'utf8',
    );
    expect(body.startsWith('WEBVTT')).toBe(true);
    // 1.00 → 2.50 and 4.00 → 5.50 (the sign), 1.50 → 3.00 and 3.50 → 5.00 (the dialogue).
    expect(body).toContain('00:00:02.500 --> 00:00:05.500');
    // the sign keeps its place: \pos(480,80) of 640×360, box centred on it (\an5)
    expect(body).toContain(
      '00:00:02.500 --> 00:00:05.500 position:75%,center line:22.22%,center align:center\n',
    );
    expect(body).toContain('00:00:03.000 --> 00:00:05.000');
    expect(body).not.toContain('00:00:01.000 --> ');
    expect(body).toContain('Welcome to the other world.');
    await shot(pages.a, 'a-anime-subtitles');
  });

  it('A previews the ASS with libass: the sign is drawn where \\pos puts it, over the neutral background', async () => {
    pages.a.on('pageerror', (e) => process.stdout.write(`[site-story] preview page error: ${e.message}\n`));
    await pages.a.goto(`${siteUrl}/subtitles/${subtitleId}/preview`);
    await pages.a.getByLabel('Time (seconds)').fill('2');
    await pages.a.getByRole('button', { name: 'Show' }).click();
    const canvas = pages.a.getByTestId('preview');
    await pages.a.locator('#preview-canvas[data-rendered-at="2"]').waitFor({ timeout: DEADLINE_MS });
    const deadline = Date.now() + DEADLINE_MS;
    let png = await canvas.screenshot();
    let seen = await inkInBoxes(pages.a, png, [SIGN_BOX, EMPTY_BOX]);
    while ((seen.counts[0]?.ink ?? 0) < 200 && Date.now() < deadline) {
      png = await canvas.screenshot();
      seen = await inkInBoxes(pages.a, png, [SIGN_BOX, EMPTY_BOX]);
    }
    await writeFile(await artifact('story-a-preview-canvas.png'), png);
    await shot(pages.a, 'a-preview');
    const [sign, empty] = seen.counts;
    process.stdout.write(
      `[site-story] preview ${seen.width}×${seen.height}: sign box ${sign?.ink} ink / ${sign?.yellow} yellow pixels; empty box ${empty?.ink} ink\n`,
    );
    // The element's box may start at a fractional y: its screenshot is then one row taller.
    expect(seen.width).toBe(640);
    expect(seen.height === 360 || seen.height === 361).toBe(true);
    expect(sign?.ink).toBeGreaterThan(200);
    // The sign's colour is yellow (&H0000FFFF, BGR): R and G high, B low.
    expect(sign?.yellow).toBeGreaterThan(50);
    expect(empty?.ink).toBe(0);
  });

  it('A votes it up and reports it (reason + text)', async () => {
    await pages.a.goto(`${siteUrl}/subtitles/${subtitleId}`);
    await submit(pages.a, pages.a.getByRole('button', { name: /^Vote up/ }));
    expect(await text(pages.a.locator('.flash.ok:not(#live-toast)'))).toBe('You voted it up.');
    expect(await text(pages.a.getByTestId('votes'))).toMatch(/^1 \(1 up, 0 down\)/);
    await pages.a.locator('summary', { hasText: 'Report' }).click();
    await pages.a.getByLabel('Reason').selectOption('out_of_sync');
    await pages.a.getByLabel('Details (optional)').fill('Two seconds late from the first line.');
    await submit(pages.a, pages.a.getByRole('button', { name: 'Send report' }));
    expect(await text(pages.a.locator('.flash.ok:not(#live-toast)'))).toBe(
      'Thank you: your report is sent to the moderators.',
    );
    await shot(pages.a, 'a-reported');
  });

  it("M's inbox shows the report by its category's label and leads to the subtitle's moderation page", async () => {
    const m = pages.m;
    const deadline = Date.now() + DEADLINE_MS;
    const item = m.locator(`li.notification[data-kind="subtitle.reported"]`).filter({ hasText: subtitleId });
    do await m.goto(`${siteUrl}/me/notifications`);
    while ((await item.count()) === 0 && Date.now() < deadline);
    expect(await text(item)).toMatch(/was reported: Out of sync/);
    expect(await text(item)).not.toContain('out_of_sync');
    const review = item.getByRole('link', { name: 'review the subtitle' });
    expect(await review.getAttribute('href')).toBe(`/mod/subtitles/${subtitleId}`);
    expect(await item.getByRole('link', { name: 'open the anime' }).count()).toBe(0);
    await submit(m, review);
    expect(m.url()).toBe(`${siteUrl}/mod/subtitles/${subtitleId}`);
    expect(await text(m.getByTestId('status'))).toBe('published');
  });

  it('M finds it in the queue, reads the report and removes it with a note; the audit log records it', async () => {
    const m = pages.m;
    await m.goto(`${siteUrl}/mod/reports`);
    const row = m.locator(`tr[data-subtitle="${subtitleId}"]`);
    await row.waitFor();
    expect(await text(row)).toContain('Out of sync');
    expect(await text(row)).toContain('Two seconds late from the first line.');
    await shot(m, 'm-queue');
    await submit(m, row.getByRole('link'));
    expect(await text(m.getByTestId('status'))).toBe('published');
    // The anime by its title (from the catalog), not by its id.
    expect(
      await m
        .locator('dl.facts')
        .getByRole('link', { name: /^Site story / })
        .count(),
    ).toBe(1);
    expect(await text(m.getByTestId('reports'))).toContain('Out of sync');
    // No action is preselected (removal is final): a required choice, so the browser posts nothing without one.
    const record = m.getByRole('button', { name: 'Record decision' });
    expect(await m.locator('input[name="decision"]:checked').count()).toBe(0);
    await record.click();
    expect(await m.locator('input[name="decision"]:invalid').count()).toBeGreaterThan(0);
    expect(await m.locator('.flash.error').count()).toBe(0);
    expect(await text(m.getByTestId('status'))).toBe('published');
    await m.getByLabel('Remove (final)').check();
    await m.getByLabel(/^Note/).fill('Timing unusable; please re-time and upload again.');
    // With JavaScript, removal asks first; cancelling posts nothing.
    const asked: string[] = [];
    m.once('dialog', (d) => {
      asked.push(d.message());
      void d.dismiss();
    });
    await record.click();
    expect(asked).toEqual(['Remove this subtitle for good? A removal cannot be undone.']);
    expect(await text(m.getByTestId('status'))).toBe('published');
    m.once('dialog', (d) => void d.accept());
    await submit(m, record);
    expect(await text(m.locator('.flash.ok:not(#live-toast)'))).toBe('Decision recorded: remove (final).');
    expect(await text(m.getByTestId('status'))).toBe('removed');
    expect(await text(m.getByTestId('final'))).toMatch(/^Removed: the decision is final/);
    expect(await text(m.getByTestId('audit'))).toMatch(
      /remove by .*published → removed, 1 report resolved.*Timing unusable/,
    );
    // named by account name, linked to their public list (not by the account's UUID)
    expect(await text(m.getByTestId('audit'))).toContain(`remove by ${users.m.username} (`);
    await shot(m, 'm-decision');
    // The moderation inbox had the report (M's badge counts it).
    expect(await badgeCount(m)).toBeGreaterThanOrEqual(1);
  });

  it('B sees the decision in the inbox (without JavaScript too) and marks it read', async () => {
    const nojs = await signedIn('b', { js: false });
    const deadline = Date.now() + DEADLINE_MS;
    const item = nojs.locator('li.notification[data-kind="subtitle.removed"]');
    do await nojs.goto(`${siteUrl}/me/notifications`);
    while ((await item.count()) === 0 && Date.now() < deadline);
    expect(await text(item)).toMatch(/^Unread: Your subtitle for .* episode 4 was removed/);
    expect(await text(item)).toContain('Timing unusable; please re-time and upload again.');
    await shot(nojs, 'b-inbox-decision');
    const before = await badgeCount(nojs);
    await submit(nojs, item.getByRole('button', { name: /^Mark read/ }));
    expect(await text(nojs.locator('.flash'))).toBe('Marked read.');
    expect(await badgeCount(nojs)).toBe(before - 1);
    // The notification leads to the subtitle's page, which says what became of it (410), not to a dead end.
    const open = item.getByRole('link', { name: 'open the subtitle' });
    expect(await open.getAttribute('href')).toBe(`/subtitles/${subtitleId}`);
    const [answer] = await Promise.all([
      nojs.waitForResponse((r) => r.url() === `${siteUrl}/subtitles/${subtitleId}`),
      open.click(),
    ]);
    expect(answer.status()).toBe(410);
    expect(await text(nojs.locator('[role="alert"]'))).toBe(
      'This subtitle was removed or hidden by moderation.',
    );
    // The subtitle is gone for everyone.
    await pages.a.goto(`${siteUrl}/subtitles/${subtitleId}`);
    expect(await text(pages.a.locator('[role="alert"]'))).toBe(
      'This subtitle was removed or hidden by moderation.',
    );
  });

  it("C never saw A's notifications: badge 0, nothing live, an empty inbox", async () => {
    const c = pages.c;
    expect(await c.locator('#live-list li').count()).toBe(0);
    expect(await badgeCount(c)).toBe(0);
    await c.reload();
    expect(await c.locator('[data-testid="inbox"] li').count()).toBe(0);
    expect(await text(c.locator('main'))).toContain('Nothing here yet.');
  });
});

describe('upload without JavaScript: a zip gets a verdict per file', () => {
  it('imported, duplicate and refused, each with its reason', async () => {
    // A's first notification, to resume after below.
    await pages.a.goto(`${siteUrl}/me/notifications`);
    const first =
      (await pages.a.locator('li.notification[data-kind="subtitle.next-episode"]').getAttribute('data-id')) ??
      '';
    expect(first).toMatch(/^[0-9a-f]{24}$/);
    const page = await signedIn('b', { js: false });
    await page.goto(`${siteUrl}/upload?anime=${anime}`);
    await page.getByLabel('Language').fill('en');
    const zip = makeZip([
      { name: 'Story - 05.srt', data: '1\n00:00:01,000 --> 00:00:02,000\nFive.\n' },
      { name: 'Story - 06.ass', data: ASS },
      { name: 'Story - 07.srt', data: 'this is not a subtitle at all' },
    ]);
    await page
      .getByLabel('Subtitle file or zip')
      .setInputFiles({ name: 'story.zip', mimeType: 'application/zip', buffer: zip });
    await submit(page, page.getByRole('button', { name: 'Upload' }));
    const outcome = (name: string) => page.locator('[data-testid="verdicts"] > li', { hasText: name });
    expect(await outcome('Story - 05.srt').getAttribute('data-outcome')).toBe('imported');
    // The same normalised bytes as the removed subtitle: a duplicate (removed ones count too).
    expect(await outcome('Story - 06.ass').getAttribute('data-outcome')).toBe('duplicate');
    expect(await outcome('Story - 07.srt').getAttribute('data-outcome')).toBe('refused');
    expect(await text(outcome('Story - 07.srt').locator('.reason'))).not.toBe('');
    expect(await text(page.getByTestId('upload-totals'))).toBe('3 files: 1 imported.');
    await shot(page, 'b-upload-zip-nojs');
    // A reconnect resumes after Last-Event-ID: the same-origin relay passes it on and the API sends what
    // came after it (episode 5's notification, replayed or live), never the one before.
    const resumed = await readNotificationStream(pages.a, {
      last: first,
      until: 'event: notification\ndata: [^\n]*\n',
      timeoutMs: 50_000,
    });
    expect(resumed.status).toBe(200);
    expect(resumed.type).toBe('text/event-stream; charset=utf-8');
    expect(resumed.text).toMatch(
      /id: [0-9a-f]{24}\nevent: notification\ndata: .*New EN subtitles for .* episode 5/,
    );
    // The stream opens with `id: <first>` (the cursor it resumed from) but never sends that notification again.
    expect(resumed.text).not.toContain(`id: ${first}\nevent: notification`);
  });
});

describe('roles and settings', () => {
  it('pages a role may not see answer a 403 page, not a blank one', async () => {
    for (const path of ['/mod/reports', `/mod/subtitles/${subtitleId}`, '/upload']) {
      const res = await pages.c.goto(`${siteUrl}${path}`);
      expect(res?.status(), path).toBe(403);
      expect(await text(pages.c.locator('h1'))).toBe('Not allowed');
    }
    await shot(pages.c, 'c-forbidden');
    const anonymous = await edgeRequest(site.chain.edge, '', { path: '/mod/reports' });
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.location).toBe('/auth/login?returnTo=%2Fmod%2Freports');
  });

  it('A sets a display name and subtitle languages, sees the linked identity, and signs out everywhere', async () => {
    const second = await signedIn('a');
    const a = pages.a;
    await a.goto(`${siteUrl}/me/settings`);
    // The moderator has signed in (so the platform knows the account): A cannot pass for them.
    await a.getByLabel('Display name').fill(users.m.username);
    await submit(a, a.locator('#profile').getByRole('button', { name: 'Save' }));
    expect(await text(a.locator('#profile .error'))).toBe(
      "This display name must not be another account's username.",
    );
    await a.getByLabel('Display name').fill('Story Viewer A');
    await submit(a, a.locator('#profile').getByRole('button', { name: 'Save' }));
    expect(await text(a.locator('.flash.ok:not(#live-toast)'))).toBe('Your settings are saved.');
    expect(await a.getByLabel('Display name').inputValue()).toBe('Story Viewer A');
    expect(await text(a.locator('.who strong')), 'the header shows the display name').toBe('Story Viewer A');
    await a.getByLabel('Preferred subtitle languages').fill('en, pt-BR, xx_bad');
    await submit(a, a.locator('#languages').getByRole('button', { name: 'Save' }));
    expect(await text(a.locator('#languages .error'))).toContain('Use language tags');
    expect(await a.getByLabel('Preferred subtitle languages').inputValue()).toBe('en, pt-BR, xx_bad');
    await a.getByLabel('Preferred subtitle languages').fill('en, pt-BR');
    await submit(a, a.locator('#languages').getByRole('button', { name: 'Save' }));
    expect(await text(a.getByTestId('languages'))).toBe('Now: English, Brazilian Portuguese.');
    expect(await text(a.getByTestId('identity'))).toContain(users.a.username);
    expect(await text(a.getByTestId('identity'))).toContain(users.a.id);
    // Notification preferences: a no-JS form (CSRF token), saved with PUT /me/notification-preferences.
    const prefsForm = a.getByTestId('notification-preferences');
    expect(await prefsForm.getByLabel('An episode you watch aired: live').isChecked()).toBe(true);
    expect(await prefsForm.getByLabel('Fansub group invitations: e-mail').inputValue()).toBe('immediate');
    await prefsForm.getByLabel('An episode you watch aired: live').uncheck();
    await prefsForm.getByLabel('Subtitles for your next episode: e-mail').selectOption('daily-digest');
    await submit(a, prefsForm.getByRole('button', { name: 'Save notification preferences' }));
    expect(await text(a.locator('.flash.ok:not(#live-toast)'))).toBe(
      'Your notification preferences are saved.',
    );
    expect(await prefsForm.getByLabel('An episode you watch aired: live').isChecked()).toBe(false);
    expect(await prefsForm.getByLabel('An episode you watch aired: inbox').isChecked()).toBe(true);
    expect(await prefsForm.getByLabel('Subtitles for your next episode: e-mail').inputValue()).toBe(
      'daily-digest',
    );
    await shot(a, 'a-settings');
    await submit(a, a.getByRole('button', { name: 'Sign out everywhere' }));
    await a.waitForURL(`${siteUrl}/`);
    await a.getByRole('link', { name: 'Sign in' }).waitFor();
    // The other browser's site session ended too, and its session at Keycloak: signing in asks for the password.
    await second.goto(`${siteUrl}/`);
    await second.getByRole('link', { name: 'Sign in' }).click();
    await second.locator('input[name="password"]').waitFor();
    // Signing in again reads the display name from the profile for the header and the welcome.
    await fillLogin(second, users.a);
    await second.waitForURL(`${siteUrl}/**`);
    expect(await text(second.locator('.who strong'))).toBe('Story Viewer A');
    expect(await text(second.locator('.flash.ok:not(#live-toast)'))).toBe('Welcome, Story Viewer A.');
  });
});

describe('accessibility (axe-core, WCAG 2.1 A/AA) on every new page', () => {
  it('finds no violations', async () => {
    // M's context bypasses the CSP so axe can be injected; M may see every page (upload, moderation).
    const m = pages.m;
    const other = await ownAnime(site.chain.functions.databaseUrl, 'Site story axe', 12);
    // A published ASS of M's own for the subtitle, preview and moderation pages.
    await m.goto(`${siteUrl}/upload?anime=${other}&episode=1`);
    await m.getByLabel('Language').fill('ja');
    await m.getByLabel('Subtitle file or zip').setInputFiles({
      name: 'axe.ass',
      mimeType: 'text/x-ssa',
      buffer: Buffer.from(ASS.replace('SHOP SIGN', 'AXE SIGN')),
    });
    await m.getByRole('button', { name: 'Upload' }).click();
    const link = m.locator('[data-testid="verdicts"] li[data-outcome="imported"] a');
    await link.waitFor();
    const id = ((await link.getAttribute('href')) ?? '').split('/').pop() ?? '';
    const found: Record<string, string[]> = {};
    for (const path of [
      `/anime/${other}`,
      `/subtitles/${id}`,
      `/subtitles/${id}/preview`,
      '/upload',
      '/me/notifications',
      '/me/settings',
      '/mod/reports',
      '/mod/reports?status=resolved',
      `/mod/subtitles/${id}`,
      `/mod/subtitles/${subtitleId}`,
    ]) {
      await m.goto(`${siteUrl}${path}`);
      found[path] = await axeViolations(m);
    }
    // The 403 page, as C sees it.
    const c = await signedIn('c', { bypassCSP: true });
    await c.goto(`${siteUrl}/mod/reports`);
    found['/mod/reports (403)'] = await axeViolations(c);
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });
});
