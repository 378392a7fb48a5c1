import { ObjectId } from 'mongodb';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { edgeRequest } from '../../scripts/servers/nginx.ts';
import { artifact, axeViolations, devUser, newPage, shot, signIn, text } from './site-browser.ts';
import { useSiteStack } from './site-fixture.ts';
import { BULK_ANIME, BULK_MAL_BASE } from './site-stack.ts';

/**
 * The site at scale and behind its cache, in Debian's Chromium through the nginx edge with the harness's
 * real Keycloak (split from site.test.ts): a MAL import of thousands of rows with the progress view
 * moving, then paging through the list; ★ for subtitles of each anime's next episode in the viewer's
 * languages; the edge's cache of public pages for anonymous visitors only.
 */
const site = useSiteStack({ label: 'site_bulk' });

describe('a list of thousands, subtitles for the next episode, the edge cache', () => {
  let context: BrowserContext;
  let page: Page;
  const user = 'admin1' as const;
  let bebop = 0;
  let trigun = 0;
  const subtitleIds: string[] = [];

  beforeAll(async () => {
    const { rows } = await site.db.query<{ id: number; mal_id: number }>(
      'select id, mal_id from anime where mal_id = any($1::int[])',
      [[1, 6]],
    );
    bebop = rows.find((r) => r.mal_id === 1)?.id ?? 0;
    trigun = rows.find((r) => r.mal_id === 6)?.id ?? 0;
    // Published subtitles (metadata as the subtitles function stores it) for Cowboy Bebop episode 3:
    // English and Japanese. Trigun has none.
    const now = new Date();
    const docs = ['en', 'ja', 'fr'].map((language, i) => ({
      _id: new ObjectId(),
      animeId: bebop,
      episode: 3,
      episodeTo: null,
      language,
      format: 'srt' as const,
      encoding: 'utf-8',
      release: `[Site] Cowboy Bebop - 03 (${language})`,
      notes: null,
      fileName: `bebop-03.${language}.srt`,
      key: `subtitles/${bebop}/site-${i}.srt`,
      sizeBytes: 100,
      sha256: `${'0'.repeat(63)}${i}`,
      cues: 2,
      uploaderId: 'site-e2e',
      uploaderName: 'uploader1',
      status: 'published' as const,
      downloads: 0,
      openReports: 0,
      createdAt: now,
    }));
    await site.mongo.db(site.stack.mongoDatabase).collection('subtitles').insertMany(docs);
    subtitleIds.push(...docs.map((d) => d._id.toHexString()));
    page = await newPage(site.browser, { bypassCSP: true, locale: 'en-US', timeoutMs: 60_000 });
    context = page.context();
    await page.goto(`${site.stack.siteUrl}/`);
    await signIn(page, site.stack.siteUrl, devUser(user));
  }, 120_000);
  afterAll(async () => context?.close());

  it(`imports ${BULK_ANIME} rows with the progress view moving, then pages through them`, async () => {
    const rows = Array.from(
      { length: BULK_ANIME },
      (_, i) =>
        `<anime><series_animedb_id>${BULK_MAL_BASE + i + 1}</series_animedb_id><my_status>Plan to Watch</my_status><update_on_import>1</update_on_import></anime>`,
    );
    rows.push(
      '<anime><series_animedb_id>1</series_animedb_id><my_watched_episodes>2</my_watched_episodes><my_status>Watching</my_status><update_on_import>1</update_on_import></anime>',
      '<anime><series_animedb_id>6</series_animedb_id><my_watched_episodes>5</my_watched_episodes><my_status>Watching</my_status><update_on_import>1</update_on_import></anime>',
    );
    const total = rows.length;
    await page.goto(`${site.stack.siteUrl}/me/import`);
    // Every status line the progress view shows, in order.
    await page.evaluate(`(() => {
      const seen = [];
      globalThis.seen = seen;
      const status = document.getElementById('import-progress-text');
      new MutationObserver((records) => {
        for (const r of records) for (const n of r.addedNodes) seen.push(n.textContent ?? '');
      }).observe(status, { childList: true, characterData: true, subtree: true });
    })()`);
    await page.getByLabel('MAL export file').setInputFiles({
      name: 'bulk.xml',
      mimeType: 'application/xml',
      buffer: Buffer.from(`<myanimelist>${rows.join('\n')}</myanimelist>`),
    });
    const started = Date.now();
    await page.getByRole('button', { name: 'Import' }).click();
    await page
      .getByTestId('import-progress')
      .filter({ hasText: `Done: ${total} of ${total} rows read.` })
      .waitFor({ timeout: 180_000 })
      .catch(async (error: unknown) => {
        await shot(page, 'bulk-import-failed');
        const lines = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
        throw new Error(`the progress view showed ${JSON.stringify(lines)}`, { cause: error });
      });
    const seconds = (Date.now() - started) / 1000;
    const seen = await page.evaluate(() => (globalThis as unknown as { seen: string[] }).seen);
    expect(seen[0]).toBe('Uploading bulk.xml…');
    expect(seen).toContain(`Importing ${total} rows…`);
    expect(seen).toContain(`50 of ${total} rows imported…`);
    expect(seen).toContain(`2100 of ${total} rows imported…`);
    expect(await text(page.getByTestId('import-totals'))).toBe(
      `${total} rows read: ${total} imported, 0 updated, 0 skipped.`,
    );
    // The top of the page only (the whole report of 2,102 rows is a 10 MB image).
    await page.screenshot({ path: await artifact('bulk-import.png') });
    process.stdout.write(`[site-e2e] imported ${total} rows in ${seconds.toFixed(1)} s\n`);
    expect(await axeViolations(page)).toEqual([]);

    await page.goto(`${site.stack.siteUrl}/me/list`);
    await page.getByRole('link', { name: `All (${total})` }).waitFor();
    await page.getByRole('link', { name: `Plan to Watch (${BULK_ANIME})` }).waitFor();
    expect(await text(page.locator('.pager'))).toContain(`Page 1 of ${Math.ceil(total / 50)}`);
    await page.goto(`${site.stack.siteUrl}/me/list?status=plan_to_watch&sort=title&page=2`);
    expect(await page.locator('tbody tr').count()).toBe(50);
    expect(await text(page.locator('tbody tr th a'))).toBe('Bulk anime 0051');
    await page.goto(`${site.stack.siteUrl}/me/list?status=plan_to_watch&sort=title&page=${BULK_ANIME / 50}`);
    expect(await text(page.locator('tbody tr th a').last())).toBe(`Bulk anime ${BULK_ANIME}`);
    // The favourites filter (the library's `favourite`): none yet.
    await page.goto(`${site.stack.siteUrl}/me/list?favourite=true`);
    expect(await page.getByLabel('Favourites only').isChecked()).toBe(true);
    await page.getByText('Nothing here yet.').waitFor();
  }, 300_000);

  it("★ says, for each anime being watched, whether subtitles exist for the viewer's next episode in their languages", async () => {
    await page.goto(`${site.stack.siteUrl}/me/list?status=watching`);
    expect(await text(page.getByTestId('subtitle-languages'))).toBe(
      "★ = subtitles exist for your next episode in en (from your browser's languages).",
    );
    const bebopStar = page.locator(`tr[data-anime="${bebop}"] [data-testid="next-subtitles"]`);
    expect(await text(bebopStar)).toBe('★ ep 3: en');
    const link = bebopStar.getByRole('link', { name: 'Download en subtitles for episode 3 of Cowboy Bebop' });
    expect(await link.getAttribute('href')).toBe(
      `https://api.isekai.localhost:${site.stack.edge.port}/subtitles/${subtitleIds[0]}/download`,
    );
    expect(await text(page.locator(`tr[data-anime="${trigun}"] [data-testid="next-subtitles"]`))).toBe(
      'none for ep 6',
    );
    await shot(page, 'list-next-subtitles');
    expect(await axeViolations(page)).toEqual([]);
    // Languages from the viewer's settings win over the browser's.
    const { token } = await site.tokenOf(user);
    const saved = await edgeRequest(site.stack.edge, 'api', {
      method: 'PATCH',
      path: '/me',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ preferredSubtitleLanguages: ['ja', 'fr'] }),
    });
    expect(saved.status).toBe(200);
    await page.reload();
    expect(await text(page.getByTestId('subtitle-languages'))).toBe(
      '★ = subtitles exist for your next episode in ja, fr (from your settings).',
    );
    expect(await text(bebopStar)).toBe('★ ep 3: ja, fr');
  });

  it('the edge caches public pages for anonymous visitors only (a session never reads or fills the cache)', async () => {
    const anonymous = () => edgeRequest(site.stack.edge, '', { path: '/seasons/2001/spring' });
    const first = await anonymous();
    expect(first.status).toBe(200);
    expect(first.headers['cache-control']).toBe('public, max-age=30');
    expect(first.headers['x-cache-status']).toBe('MISS');
    const second = await anonymous();
    expect(second.headers['x-cache-status']).toBe('HIT');
    expect(second.body).toBe(first.body);

    const sid = (await context.cookies(site.stack.siteUrl)).find((c) => c.name === '__Host-isekai-sid');
    expect(sid).toBeDefined();
    const cookie = `theme=dark; __Host-isekai-sid=${sid?.value}`;
    // Signed in, a page the cache holds: not served from it.
    const signedIn = await edgeRequest(site.stack.edge, '', {
      path: '/seasons/2001/spring',
      headers: { cookie },
    });
    expect(signedIn.headers['x-cache-status']).toBe('BYPASS');
    expect(signedIn.headers['cache-control']).toBe('private, no-store');
    expect(signedIn.body).toContain('Signed in as');
    // Signed in first on a fresh page: nothing stored, the next anonymous visitor gets a fresh page.
    const fresh = '/seasons/2002/fall';
    expect(
      (await edgeRequest(site.stack.edge, '', { path: fresh, headers: { cookie } })).headers[
        'x-cache-status'
      ],
    ).toBe('BYPASS');
    const after = await edgeRequest(site.stack.edge, '', { path: fresh });
    expect(after.headers['x-cache-status']).toBe('MISS');
    expect(after.body).not.toContain('Signed in as');
    // Personal pages are never stored either.
    const list = await edgeRequest(site.stack.edge, '', { path: '/me/list', headers: { cookie } });
    expect(list.headers['cache-control']).toBe('private, no-store');
  });
});
