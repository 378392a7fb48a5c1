import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeRequest } from '../../scripts/servers/nginx.ts';
import { axeViolations, devUser, newPage, shot, signIn, submit, text } from './site-browser.ts';
import { useSiteStack } from './site-fixture.ts';

/**
 * Issue 11 in a real browser (Debian's Chromium driven by playwright-core; no browser download): through
 * the nginx edge, with the harness's real Keycloak, a viewer signs in, searches, opens an anime, adds it to
 * the list, marks three episodes, rates it with aspects and a review, sees the distribution move, finds
 * it in My list, imports a MAL file, exports, and signs out — once with JavaScript and once without
 * (the site needs none). Screenshots of every page go to test/e2e/site-artifacts/.
 */
const site = useSiteStack();

const scoreCell = (page: Page, score: number) => page.locator(`td[data-score="${score}"]`);

describe.each([
  {
    js: true,
    user: 'viewer1' as const,
    query: 'cowboy bebpo',
    title: 'Cowboy Bebop',
    mal: 6,
    malTitle: 'Trigun',
  },
  { js: false, user: 'uploader1' as const, query: 'monstr', title: 'Monster', mal: 20, malTitle: 'Naruto' },
])('the viewer flow, JavaScript $js', ({ js, user, query, title, mal, malTitle }) => {
  let context: BrowserContext;
  let page: Page;
  const tag = js ? 'js' : 'nojs';

  beforeAll(async () => {
    page = await newPage(site.browser, { javaScriptEnabled: js, acceptDownloads: true });
    context = page.context();
  });
  afterAll(async () => context?.close());

  it('signs in through the edge; the session cookie is __Host-, HttpOnly, Secure, Lax and the only token the browser holds', async () => {
    await page.goto(`${site.stack.siteUrl}/`);
    await expect(page.title()).resolves.toBe('Track, rate and subtitle anime — Isekai');
    await shot(page, `${tag}-home`);
    await signIn(page, site.stack.siteUrl, devUser(user));
    expect(await text(page.locator('.who'))).toContain('Signed in as');
    const cookies = (await context.cookies(site.stack.siteUrl)).filter(
      (c) => c.domain === 'isekai.localhost',
    );
    expect(cookies.map((c) => c.name)).toEqual(['__Host-isekai-sid']);
    expect(cookies[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
  });

  it('a search that finds nothing suggests the closest titles', async () => {
    await page.goto(`${site.stack.siteUrl}/search?q=${encodeURIComponent('kowboy bibop')}`);
    expect(await text(page.getByRole('status'))).toBe('0 anime found.');
    const suggestions = page.getByTestId('suggestions');
    expect(await text(suggestions.getByRole('heading'))).toBe('Did you mean');
    await suggestions.getByRole('link', { name: 'Cowboy Bebop', exact: true }).waitFor();
    await shot(page, `${tag}-search-suggestions`);
  });

  it('searches with a typo and opens the anime', async () => {
    await page.goto(`${site.stack.siteUrl}/search?q=${encodeURIComponent(query)}`);
    await shot(page, `${tag}-search`);
    await submit(page, page.getByRole('link', { name: title, exact: true }).first());
    expect(await text(page.locator('h1'))).toBe(title);
    await expect(page.title()).resolves.toBe(`${title} — Isekai`);
    expect(await page.locator('meta[name="description"]').getAttribute('content')).toContain(title);
  });

  it('adds it to the list, marks three episodes, rates it with aspects and a review; the distribution moves', async () => {
    await page.getByLabel('Status').selectOption('watching');
    await submit(page, page.getByRole('button', { name: 'Add to my list' }));
    expect(await text(page.getByTestId('progress'))).toMatch(/^Watching · 0 \//);
    // With JavaScript the +1 form is sent in the background (no reload: a marker on window survives).
    if (js) await page.evaluate(() => Object.assign(globalThis, { noReload: true }));
    for (const n of [1, 2, 3]) {
      await page.getByRole('button', { name: `+1 episode (watched episode ${n})` }).click();
      await page
        .getByTestId('progress')
        .filter({ hasText: new RegExp(`^Watching · ${n} /`) })
        .waitFor();
    }
    if (js) expect(await page.evaluate(() => (globalThis as { noReload?: boolean }).noReload)).toBe(true);
    // Each +1 is one episode of the viewer's watch history.
    expect(await text(page.locator('#h-history + details summary'))).toBe('3 episodes watched');
    const before = Number(await scoreCell(page, 8).textContent());
    await page.getByLabel('Score', { exact: true }).selectOption('8');
    await page.getByLabel('Music').selectOption('10');
    await page.getByLabel('Review (optional)').fill('Great soundtrack; the <b>tags</b> stay text.');
    await submit(page, page.getByRole('button', { name: 'Save rating' }));
    expect(await text(page.getByTestId('your-score'))).toBe('You rated it 8/10.');
    expect(Number(await scoreCell(page, 8).textContent())).toBe(before + 1);
    expect(await page.getByLabel('Review (optional)').inputValue()).toBe(
      'Great soundtrack; the <b>tags</b> stay text.',
    );
    // The public review renders the user's text as text.
    expect(await text(page.locator('.review-text', { hasText: 'Great soundtrack' }))).toBe(
      'Great soundtrack; the <b>tags</b> stay text.',
    );
    await page.getByLabel('Episode', { exact: true }).fill('2');
    await page.locator('#episodeScore').selectOption('7');
    await submit(page, page.getByRole('button', { name: 'Rate episode' }));
    expect(await text(page.locator('.flash'))).toBe('Episode 2: your score 7/10 is saved.');
    // Episode, mean, votes, and the viewer's own score (its cell also holds the delete step).
    const row = page.locator('tr[data-episode="2"]');
    const cells = (await row.locator('th, td').allTextContents()).map((c) => c.trim());
    expect([...cells.slice(0, 3), await text(row.getByTestId('episode-mine'))]).toEqual([
      '2',
      '7.00',
      '1',
      '7',
    ]);
    expect(await row.getByTestId('delete-episode-rating').count()).toBe(1);
    await shot(page, `${tag}-anime`);
  });

  it('a bad value comes back next to its field with the input kept', async () => {
    await page.getByLabel('Episodes watched').fill('9999');
    await submit(page, page.getByRole('button', { name: 'Save entry' }));
    await page.locator('#progress-error').waitFor();
    expect(await page.getByLabel('Episodes watched').inputValue()).toBe('9999');
  });

  it('shows it in My list and edits progress and score inline', async () => {
    await page.goto(`${site.stack.siteUrl}/me/list`);
    const row = page.locator('tbody tr', { hasText: title });
    expect(await row.count()).toBe(1);
    expect(await row.getByLabel(`Episodes watched of ${title}`).inputValue()).toBe('3');
    await page.getByRole('link', { name: /^Watching \(1\)$/ }).waitFor();
    await row.getByLabel(`Episodes watched of ${title}`).fill('4');
    await row.getByLabel(`Score of ${title}`).selectOption('9');
    await submit(page, row.getByRole('button', { name: 'Save' }));
    expect(await text(page.locator('.flash'))).toBe(`${title} updated.`);
    const saved = page.locator('tbody tr', { hasText: title });
    expect(await saved.getByLabel(`Episodes watched of ${title}`).inputValue()).toBe('4');
    expect(await saved.getByLabel(`Score of ${title}`).inputValue()).toBe('9');
    await shot(page, `${tag}-list`);
  });

  it('imports a MAL file and reads the per-row report, then exports', async () => {
    await page.goto(`${site.stack.siteUrl}/me/import`);
    const xml = `<?xml version="1.0" encoding="UTF-8"?><myanimelist><myinfo><user_export_type>1</user_export_type></myinfo>
<anime><series_animedb_id>${mal}</series_animedb_id><series_title><![CDATA[${malTitle}]]></series_title><my_watched_episodes>2</my_watched_episodes><my_score>7</my_score><my_status>Watching</my_status><my_start_date>2020-02-30</my_start_date><update_on_import>1</update_on_import></anime>
<anime><series_animedb_id>987654321</series_animedb_id><series_title><![CDATA[Not in the catalogue]]></series_title><my_status>Completed</my_status><update_on_import>1</update_on_import></anime>
</myanimelist>`;
    await page
      .getByLabel('MAL export file')
      .setInputFiles({ name: 'animelist.xml', mimeType: 'application/xml', buffer: Buffer.from(xml) });
    if (js) {
      // The progress view: the upload goes through the site's relay of the library's NDJSON stream; the
      // report appears in place (no reload: a marker on window survives).
      await page.evaluate(() => Object.assign(globalThis, { noReload: true }));
      await page.getByRole('button', { name: 'Import' }).click();
      await page.getByTestId('import-progress').filter({ hasText: 'Done: 2 of 2 rows read.' }).waitFor();
      expect(await page.evaluate(() => (globalThis as { noReload?: boolean }).noReload)).toBe(true);
      expect(
        await page
          .locator('#import-meter')
          .evaluate((m) => [
            (m as unknown as { value: number; max: number }).value,
            (m as unknown as { value: number; max: number }).max,
          ]),
      ).toEqual([2, 2]);
    } else {
      await submit(page, page.getByRole('button', { name: 'Import' }));
      expect(await page.locator('#import-progress').isHidden()).toBe(true);
    }
    expect(await text(page.getByTestId('import-totals'))).toBe(
      '2 rows read: 1 imported, 0 updated, 1 skipped.',
    );
    // A value the import could not take as given is named in its row.
    expect(await text(page.locator('tbody tr', { hasText: malTitle }))).toContain(
      'my_start_date "2020-02-30" is not a real date; left empty',
    );
    expect(await text(page.locator('tbody tr', { hasText: 'Not in the catalogue' }))).toContain(
      'is not in the catalogue',
    );
    await shot(page, `${tag}-import`);
    const download = page.waitForEvent('download');
    await page.getByRole('link', { name: 'MyAnimeList XML' }).click();
    const file = await download;
    const chunks = await (await file.createReadStream()).toArray();
    const body = Buffer.concat(chunks as Buffer[]).toString('utf8');
    expect(body).toContain('<myanimelist>');
    expect(body).toContain(malTitle);
    expect(body).toContain(title);
  });

  it('turns weekly backups on', async () => {
    await page.goto(`${site.stack.siteUrl}/me/import`);
    expect(await text(page.getByTestId('backup-state'))).toMatch(/^Weekly backups are off\./);
    await page.getByLabel(/Back up my list every week/).check();
    await submit(page, page.locator('#backups').getByRole('button', { name: 'Save' }));
    expect(await text(page.locator('.flash'))).toBe('Weekly backups are on.');
    expect(await text(page.getByTestId('backup-state'))).toMatch(/^Weekly backups are on\./);
  });

  it('a backup that does not exist is the 404 page (not the import page saying an anime is gone)', async () => {
    const sid = (await context.cookies(site.stack.siteUrl)).find(
      (c) => c.name === '__Host-isekai-sid',
    )?.value;
    expect(sid).toBeTruthy();
    for (const path of ['/me/backups/2020-01-01', '/me/backups/not-a-date', '/me/backups/2026-02-30']) {
      const res = await edgeRequest(site.stack.edge, '', {
        path,
        headers: { cookie: `__Host-isekai-sid=${sid}` },
      });
      expect(res.status, path).toBe(404);
      expect(res.body).toContain('<title>Not found — Isekai</title>');
      expect(res.body).not.toContain('no longer exists');
    }
  });

  it('signs out of the site and of the identity provider', async () => {
    await page.goto(`${site.stack.siteUrl}/`);
    await submit(page, page.getByRole('button', { name: 'Sign out' }));
    await page.waitForURL(`${site.stack.siteUrl}/`);
    await page.getByRole('link', { name: 'Sign in' }).waitFor();
    // The provider's session is gone too: signing in asks for the password again.
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.locator('input[name="password"]').waitFor();
  });
});

describe('accessibility (axe-core, WCAG 2.1 A/AA)', () => {
  // axe is injected as a script: this context lets it past the site's CSP (script-src 'self'). The
  // flows above run with the CSP enforced.
  it('finds no violations on the home, search (results and suggestions), season, anime, list, import, public profile and 404 pages', async () => {
    const page = await newPage(site.browser, { bypassCSP: true });
    const context = page.context();
    try {
      await page.goto(`${site.stack.siteUrl}/`);
      await signIn(page, site.stack.siteUrl, devUser('moderator1'));
      const found: Record<string, string[]> = {};
      for (const path of [
        '/',
        '/search?q=trigun',
        '/search?q=kowboy%20bibop',
        '/seasons/1998/spring',
        '/u/viewer1',
        '/anime/1',
        '/me/list',
        '/me/import',
        '/anime/999999999',
      ]) {
        await page.goto(`${site.stack.siteUrl}${path}`);
        found[path] = await axeViolations(page);
      }
      expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
    } finally {
      await context.close();
    }
  });
});

describe('public pages', () => {
  it('the seasons browser lists a season with links to the previous and next', async () => {
    const res = await edgeRequest(site.stack.edge, '', { path: '/seasons/1998/spring' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('<title>Spring 1998 anime — Isekai</title>');
    expect(res.body).toContain('>Cowboy Bebop</a>');
    expect(res.body).toContain('href="/seasons/1998/winter" rel="prev"');
    expect(res.body).toContain('href="/seasons/1998/summer" rel="next"');
    expect((await edgeRequest(site.stack.edge, '', { path: '/seasons/1998/monsoon' })).status).toBe(404);
  });

  it('a search sent with empty filters answers with the URL that names only the filters in use', async () => {
    const res = await edgeRequest(site.stack.edge, '', {
      path: '/search?q=trigun&type=&status=&year=&sort=score',
    });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe('/search?q=trigun&sort=score');
    const none = await edgeRequest(site.stack.edge, '', { path: '/search?q=&type=' });
    expect(none.headers.location).toBe('/search');
  });

  it("a viewer's public list shows their entries; an unknown user is a 404", async () => {
    const res = await edgeRequest(site.stack.edge, '', { path: '/u/viewer1' });
    expect(res.status).toBe(200);
    expect(res.body).toContain('>Cowboy Bebop</a>');
    expect((await edgeRequest(site.stack.edge, '', { path: '/u/nobody-by-that-name' })).status).toBe(404);
  });
});

describe('what the site refuses', () => {
  const post = (path: string, headers: Record<string, string>, body: string) =>
    edgeRequest(site.stack.edge, '', {
      method: 'POST',
      path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body,
    });

  // edgeRequest sends Host isekai.localhost (no port): that is the origin the site sees for these.
  // Both are the site's own 403 page (its layout and title), never the plain text of a framework.
  it.each([
    [
      'a cross-site form post (Origin elsewhere)',
      'https://evil.example',
      '<title>Form refused — Isekai</title>',
      /sent from another site/,
    ],
    [
      'a same-origin post without a session (it expired or never was)',
      'https://isekai.localhost',
      '<title>Your session has ended — Isekai</title>',
      /href="\/auth\/login\?returnTo=%2Fanime%2F1"/,
    ],
  ])('%s → 403', async (_name, origin, title, text) => {
    const res = await post(
      '/anime/1',
      { origin, referer: 'https://isekai.localhost/anime/1' },
      'action=rating&score=10',
    );
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain(title);
    expect(res.body).toContain('<main id="main"');
    expect(res.body).toMatch(text);
  });

  it("a cross-site post without any content type is refused too (Astro's checkOrigin rule)", async () => {
    const res = await edgeRequest(site.stack.edge, '', {
      method: 'POST',
      path: '/anime/1',
      headers: { origin: 'https://evil.example' },
      body: '',
    });
    expect(res.status).toBe(403);
    expect(res.body).toContain('<title>Form refused — Isekai</title>');
  });

  it('the refusal page is no page of its own (404 when visited)', async () => {
    expect((await edgeRequest(site.stack.edge, '', { path: '/form-refused' })).status).toBe(404);
  });

  it('problem answers of the site and of the edge in front of it say exactly application/problem+json', async () => {
    // The site's own (its live-notifications relay, signed out) and nginx's own on the site's server.
    const stream = await edgeRequest(site.stack.edge, '', { path: '/me/notifications/stream' });
    expect(stream.status).toBe(401);
    expect(stream.headers['content-type']).toBe('application/problem+json');
    expect(stream.json()).toMatchObject({ status: 401, code: 'unauthenticated' });
    const tooLarge = await edgeRequest(site.stack.edge, '', {
      path: '/',
      headers: { 'x-big': 'a'.repeat(9000) },
    });
    expect(tooLarge.status).toBe(431);
    expect(tooLarge.headers['content-type']).toBe('application/problem+json');
  });

  it('an unknown anime is a 404 page', async () => {
    const res = await edgeRequest(site.stack.edge, '', { path: '/anime/999999999' });
    expect(res.status).toBe(404);
    expect(res.body).toContain('<title>Not found — Isekai</title>');
  });

  it('personal pages send anonymous visitors to sign in, coming back afterwards; public pages are cacheable', async () => {
    const list = await edgeRequest(site.stack.edge, '', { path: '/me/list?status=watching' });
    expect(list.status).toBe(303);
    expect(list.headers.location).toBe('/auth/login?returnTo=%2Fme%2Flist%3Fstatus%3Dwatching');
    const home = await edgeRequest(site.stack.edge, '', { path: '/' });
    expect(home.headers['cache-control']).toBe('public, max-age=30');
  });

  it('an open redirect through returnTo is refused', async () => {
    const res = await edgeRequest(site.stack.edge, '', {
      path: '/auth/login?returnTo=https%3A%2F%2Fevil.example%2F',
    });
    expect(res.status).toBe(303);
    const session = String(res.headers['set-cookie'] ?? '');
    expect(session).toContain('__Host-isekai-sid=');
    expect(new URL(String(res.headers.location)).searchParams.get('redirect_uri')).toBe(
      `${site.stack.siteUrl}/auth/callback`,
    );
  });
});
