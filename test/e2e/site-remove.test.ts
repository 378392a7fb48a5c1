import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { edgeRequest } from '../../scripts/servers/nginx.ts';
import { DEV_USERS, passwordToken } from '../setup/keycloak-client.ts';
import type { DevUser } from './site-browser.ts';
import { notificationDoc, subjectOf, subtitleDoc, useSiteStack } from './site-fixture.ts';

/**
 * Taking back what a viewer added, the way a viewer does it (the built site behind the real nginx edge, the
 * harness's Keycloak, Chromium with JavaScript off where the form must work without it): clearing a score on
 * "My list" removes the rating, "Remove" takes an anime off the list after a confirm step, the anime page
 * deletes a rating and review and an episode score, the subtitle page withdraws a vote ("Withdraw vote" is
 * offered only where the viewer has one, there and in the anime page's list). Also: the live inbox drops
 * "Nothing here yet." when a notification arrives, and an anime nobody has on a list has no popularity
 * place ("—").
 */
const site = useSiteStack({ bulk: false, label: 'remove', notifications: true });
const { env } = site;

/** A page signed in as a dev user; `js: false` turns JavaScript off. */
const browse = (user: DevUser, js = true) => site.browse(user, { javaScriptEnabled: js });

/** Access tokens by dev user: one password grant each for the file (many in a row trip Keycloak's lockout). */
const tokens = new Map<string, Promise<string>>();
const tokenOf = (user: DevUser) => {
  let token = tokens.get(user);
  if (!token) {
    token = passwordToken(env, user, DEV_USERS[user].password).then((t) => t.access_token);
    tokens.set(user, token);
  }
  return token;
};

/** One API call through the edge as a dev user (JSON body when given); status and parsed body. */
async function callApi(user: DevUser, method: string, path: string, json?: unknown) {
  const token = await tokenOf(user);
  const res = await edgeRequest(site.stack.edge, 'api', {
    method,
    path,
    headers: {
      authorization: `Bearer ${token}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  return { status: res.status, body: res.body ? JSON.parse(res.body) : undefined };
}

/** The page's flash message (not the live toast). */
const flash = (page: Page) => page.locator('p.flash:not(#live-toast)');

describe('My list (JavaScript off)', () => {
  it('setting Score to "—" and saving removes the rating and says so', async () => {
    const id = await site.animeByMal(1);
    expect((await callApi('viewer1', 'PUT', `/me/library/${id}`, { status: 'watching' })).status).toBe(201);
    expect((await callApi('viewer1', 'PUT', `/anime/${id}/rating`, { score: 8 })).status).toBeLessThan(300);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/me/list`);
    await page.locator(`#score-${id}`).selectOption('');
    await page.locator(`tr[data-anime="${id}"]`).getByRole('button', { name: 'Save' }).click();
    expect(await flash(page).textContent()).toMatch(/rating .*removed/);
    expect((await callApi('viewer1', 'GET', `/anime/${id}/rating`)).status).toBe(404);
    expect(await page.locator(`#score-${id}`).inputValue()).toBe('');
  });

  it('"Remove" asks first, then takes the anime off the list', async () => {
    const id = await site.animeByMal(5);
    expect((await callApi('viewer1', 'PUT', `/me/library/${id}`, { status: 'completed' })).status).toBe(201);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/me/list`);
    const row = page.locator(`tr[data-anime="${id}"]`);
    const yes = row.getByRole('button', { name: 'Yes, remove from my list' });
    expect(await yes.isVisible()).toBe(false);
    await row.locator('summary', { hasText: 'Remove' }).click();
    await yes.click();
    expect(await flash(page).textContent()).toContain('removed from your list');
    expect(await page.locator(`tr[data-anime="${id}"]`).count()).toBe(0);
    expect((await callApi('viewer1', 'GET', `/me/library/${id}`)).status).toBe(404);
  });
});

describe('the anime page (JavaScript off)', () => {
  it('deletes the rating and review, and removes the anime from the list, each after a confirm step', async () => {
    const id = await site.animeByMal(6);
    expect((await callApi('viewer1', 'PUT', `/me/library/${id}`, { status: 'watching' })).status).toBe(201);
    const rated = await callApi('viewer1', 'PUT', `/anime/${id}/rating`, { score: 7, review: 'Fine.' });
    expect(rated.status).toBeLessThan(300);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/anime/${id}`);
    await page.locator('summary', { hasText: 'Delete my rating and review' }).click();
    await page.getByRole('button', { name: 'Yes, delete it' }).click();
    expect(await flash(page).textContent()).toContain('Your rating and review are deleted.');
    expect(await page.getByTestId('your-score').textContent()).toBe('You have not rated it yet.');
    expect((await callApi('viewer1', 'GET', `/anime/${id}/rating`)).status).toBe(404);

    await page.locator('summary', { hasText: 'Remove from my list' }).click();
    await page.getByRole('button', { name: 'Yes, remove it' }).click();
    expect(await flash(page).textContent()).toContain('Removed from your list.');
    expect(await page.getByTestId('progress').textContent()).toContain('Not on your list yet.');
    expect((await callApi('viewer1', 'GET', `/me/library/${id}`)).status).toBe(404);
  });
});

describe('the anime page: a review alone (JavaScript off)', () => {
  it('deletes the review after a confirm step; the score and aspects stay', async () => {
    const id = await site.animeByMal(6);
    const rated = await callApi('viewer1', 'PUT', `/anime/${id}/rating`, {
      score: 8,
      aspects: { music: 9 },
      review: 'Worth it for the music.',
    });
    expect(rated.status).toBeLessThan(300);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/anime/${id}`);
    await page.locator('summary', { hasText: 'Delete my review only' }).click();
    await page.getByRole('button', { name: 'Yes, delete my review' }).click();
    expect(await flash(page).textContent()).toContain('Your review is deleted; your score stays.');
    expect(await page.getByTestId('delete-review').count()).toBe(0);
    const after = await callApi('viewer1', 'GET', `/anime/${id}/rating`);
    expect(after.status).toBe(200);
    expect(after.body).toMatchObject({ score: 8, music: 9 });
    expect(after.body.review ?? null).toBeNull();
  });
});

describe('the anime page: episode scores (JavaScript off)', () => {
  it("deletes one episode score after a confirm step; the viewer's other scores and others' stay", async () => {
    const id = await site.animeByMal(30);
    const rates: [DevUser, number, number][] = [
      ['viewer1', 3, 9],
      ['viewer1', 4, 6],
      ['uploader1', 3, 5],
    ];
    for (const [user, episode, score] of rates)
      expect(
        (await callApi(user, 'PUT', `/anime/${id}/episodes/${episode}/rating`, { score })).status,
      ).toBeLessThan(300);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/anime/${id}`);
    const row = (episode: number) => page.locator(`tr[data-episode="${episode}"]`);
    expect(await row(3).getByTestId('episode-mine').textContent()).toBe('9');
    const yes = row(3).getByRole('button', { name: 'Yes, delete my episode 3 score' });
    expect(await yes.isVisible()).toBe(false);
    await row(3).locator('summary', { hasText: 'Delete' }).click();
    await yes.click();
    expect(await flash(page).textContent()).toContain('Your score of episode 3 is deleted.');
    expect(await row(3).getByTestId('episode-mine').textContent()).toBe('—');
    expect(await row(3).locator('summary').count()).toBe(0);
    expect(await row(4).getByTestId('episode-mine').textContent()).toBe('6');
    const { body } = await callApi('viewer1', 'GET', `/anime/${id}/episodes/ratings`);
    expect(body.episodes).toEqual(
      expect.arrayContaining([
        { episode: 3, count: 1, mean: 5, mine: null },
        { episode: 4, count: 1, mean: 6, mine: 6 },
      ]),
    );
  });
});

describe('the subtitle page (JavaScript off)', () => {
  it('withdraws a vote', async () => {
    const animeId = await site.animeByMal(1);
    const doc = subtitleDoc(animeId, {
      episode: 2,
      release: '[Remove] Cowboy Bebop - 02',
      fileName: 'bebop-02.en.srt',
      sizeBytes: 40,
      cues: 1,
      uploaderId: 'remove-e2e',
    });
    await site.subtitles().insertOne(doc);
    const id = doc._id;
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/subtitles/${id.toHexString()}`);
    const withdraw = page.getByRole('button', { name: /^Withdraw vote on / });
    // Nothing to withdraw before the viewer votes.
    expect(await withdraw.count()).toBe(0);
    await page.getByRole('button', { name: /^Vote up/ }).click();
    expect(await page.getByTestId('votes').textContent()).toBe('1 (1 up, 0 down)');
    expect(await page.getByRole('button', { name: /^Vote up/ }).getAttribute('aria-pressed')).toBe('true');
    await withdraw.click();
    expect(await flash(page).textContent()).toBe('Your vote is withdrawn.');
    expect(await page.getByTestId('votes').textContent()).toBe('0 (0 up, 0 down)');
    expect(await withdraw.count()).toBe(0);
  });

  it('offers "Withdraw vote" in the anime page\'s list only on the subtitles the viewer voted on', async () => {
    const animeId = await site.animeByMal(1);
    const docs = [1, 2].map((v) =>
      subtitleDoc(animeId, {
        episode: 5,
        release: `[Remove] Cowboy Bebop - 05 v${v}`,
        fileName: `bebop-05-v${v}.en.srt`,
        sizeBytes: 40,
        cues: 1,
        uploaderId: 'remove-e2e',
      }),
    );
    await site.subtitles().insertMany(docs);
    const [voted, other] = docs.map((d) => d._id.toHexString());
    expect((await callApi('viewer1', 'PUT', `/subtitles/${voted}/vote`, { value: -1 })).status).toBe(200);
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/anime/${animeId}?sepisode=5#subtitles`);
    const row = (id: string | undefined) => page.locator(`tr[data-subtitle="${id}"]`);
    const withdrawIn = (id: string | undefined) =>
      row(id).getByRole('button', { name: /^Withdraw vote on / });
    expect(await withdrawIn(voted).count()).toBe(1);
    expect(
      await row(voted)
        .getByRole('button', { name: /^Vote down/ })
        .getAttribute('aria-pressed'),
    ).toBe('true');
    expect(await withdrawIn(other).count()).toBe(0);
    await withdrawIn(voted).click();
    expect(await flash(page).textContent()).toBe('Your vote is withdrawn.');
    expect(await withdrawIn(voted).count()).toBe(0);
    expect((await callApi('viewer1', 'GET', `/subtitles/${voted}`)).body.viewerVote).toBeNull();
  });
});

describe('the live inbox', () => {
  it('hides "Nothing here yet." when a notification arrives live', async () => {
    const sub = subjectOf(await tokenOf('uploader1'));
    const page = await browse('uploader1');
    await page.goto(`${site.stack.siteUrl}/me/notifications`);
    const empty = page.getByText('Nothing here yet.');
    expect(await empty.isVisible()).toBe(true);
    await page.locator('body[data-live-connected="true"]').waitFor();
    const doc = notificationDoc(sub, 'Episode 1 aired (live)');
    await site.notify(doc);
    await page.locator(`#live-list li[data-id="${doc._id.toHexString()}"]`).waitFor();
    expect(await empty.isVisible()).toBe(false);
  });

  it('an Unread tab with nothing unread says so (not "Nothing here yet.") and links to all', async () => {
    const page = await browse('uploader1');
    await page.goto(`${site.stack.siteUrl}/me/notifications?unread=true`);
    await page.getByRole('button', { name: 'Mark all read' }).click();
    await page.waitForURL(/unread=true/);
    const main = (await page.locator('main').textContent()) ?? '';
    expect(main).toContain('No unread notifications.');
    expect(main).not.toContain('Nothing here yet.');
    await page.getByRole('link', { name: 'See all' }).click();
    await page.waitForURL(/\/me\/notifications\?page=1$/);
    expect(await page.locator('[data-testid="inbox"] li').count()).toBeGreaterThan(0);
  });
});

describe('popularity of an anime nobody has on a list', () => {
  it('is null in the API and "—" on the page, like Rank', async () => {
    const id = await site.animeByMal(19);
    const detail = await callApi('viewer1', 'GET', `/anime/${id}`);
    expect(detail.body.stats.members).toBe(0);
    expect(detail.body.stats.popularity).toBeNull();
    const page = await browse('viewer1', false);
    await page.goto(`${site.stack.siteUrl}/anime/${id}`);
    const text = (await page.locator('#h-stats + p').textContent()) ?? '';
    expect(text).toContain('Popularity —');
    expect(text).not.toMatch(/Popularity #/);
  });
});
