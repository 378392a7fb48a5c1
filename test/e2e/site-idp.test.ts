import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { artifact, devUser, fillLogin, newPage } from './site-browser.ts';
import { useSiteStack } from './site-fixture.ts';

/**
 * The site with the embedded identity provider of `npm start` (scripts/stack/oidc: oidc-provider serving
 * the realm export on Keycloak's paths, started as scripts/start.ts starts it, its issuer given to the
 * functions, the edge and the site): in Debian's Chromium a viewer signs in on the provider's own login
 * form, reaches My list, adds an anime through the API with the provider's token, and signs out of both
 * (no confirmation page: the provider ends its session at once, as Keycloak does for an id_token_hint).
 */
const site = useSiteStack({ identity: 'embedded', bulk: false, label: 'site_idp' });
let page: Page;

beforeAll(async () => {
  page = await newPage(site.browser);
});

describe('sign-in with the embedded identity provider of npm start', () => {
  it('signs in on the provider, comes back to My list, writes through the API, and signs out of both', async () => {
    await page.goto(`${site.stack.siteUrl}/me/list`);
    // Anonymous: sent to sign in; the provider's form is on the issuer's origin (http://127.0.0.1:<port>).
    await page.locator('input[name="username"]').waitFor();
    expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/realms\/isekai\//);
    await page.screenshot({ path: await artifact('idp-login.png'), fullPage: true });
    await fillLogin(page, devUser('viewer1'));
    await page.waitForURL(`${site.stack.siteUrl}/me/list`);
    expect((await page.locator('h1').textContent())?.trim()).toBe('My list');
    expect(await page.locator('.who').textContent()).toContain('Signed in as');

    // The provider's access token works through the edge (edge-auth verifies it like Keycloak's).
    await page.goto(`${site.stack.siteUrl}/anime/1`);
    await page.getByLabel('Status').selectOption('watching');
    await page.getByRole('button', { name: 'Add to my list' }).click();
    await page
      .getByTestId('progress')
      .filter({ hasText: /^Watching · 0 \// })
      .waitFor();
    await page.goto(`${site.stack.siteUrl}/me/list`);
    await page.getByRole('link', { name: 'Watching (1)' }).waitFor();
    await page.screenshot({ path: await artifact('idp-list.png'), fullPage: true });

    await page.getByRole('button', { name: 'Sign out' }).click();
    // Like Keycloak with a valid id_token_hint, the embedded provider ends its session without a
    // confirmation page: straight back to the site's home.
    await page.waitForURL(`${site.stack.siteUrl}/`);
    expect(await page.getByRole('heading', { name: /Sign out of/ }).count()).toBe(0);
    // Leaving at once and coming back to a personal page: the provider's session ended too, so it asks
    // for the password again instead of signing the viewer straight back in.
    await page.goto(`${site.stack.siteUrl}/me/list`);
    await page.locator('input[name="password"]').waitFor();
    expect(page.url()).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/realms\/isekai\//);
  });
  it("a +1 sent after the session ended (its Redis key gone) is sent once and answered with the site's 403 page, whose sign-in comes back", async () => {
    await page.goto(`${site.stack.siteUrl}/me/list`);
    await fillLogin(page, devUser('viewer1'));
    await page.waitForURL(`${site.stack.siteUrl}/me/list`);
    await page.goto(`${site.stack.siteUrl}/anime/1`);
    const plusOne = page.getByRole('button', { name: '+1 episode (watched episode 1)' });
    await plusOne.waitFor();
    // The session expires on the server: its Redis key is gone, the browser still holds the cookie.
    const sid = (await page.context().cookies()).find((c) => c.name === '__Host-isekai-sid')?.value;
    expect(await site.redis.del(`${site.stack.sessionKeyPrefix}${sid}`)).toBe(1);
    const posts: number[] = [];
    page.on('response', (res) => {
      if (res.request().method() === 'POST') posts.push(res.status());
    });
    await plusOne.click();
    await page.getByRole('heading', { name: 'Your session has ended' }).waitFor();
    // Sent once (the enhancement never posts the form again after an answer), refused with 403.
    expect(posts).toEqual([403]);
    // The site's own page: its layout (header, main landmark), its title, a sign-in link back to the page.
    expect(await page.title()).toBe('Your session has ended — Isekai');
    await page.locator('header.top a.brand').waitFor();
    const signIn = page.locator('main').getByRole('link', { name: 'Sign in' });
    expect(await signIn.getAttribute('href')).toBe('/auth/login?returnTo=%2Fanime%2F1');
    await page.screenshot({ path: await artifact('idp-session-ended.png'), fullPage: true });
    // The provider's session is still alive: signing in comes straight back, and nothing was written.
    await signIn.click();
    await page.waitForURL(`${site.stack.siteUrl}/anime/1`);
    await page
      .getByTestId('progress')
      .filter({ hasText: /^Watching · 0 \// })
      .waitFor();
  });
  it('an anonymous sign-in start keeps its Redis session 10 minutes, not the full session TTL', async () => {
    const anonymous = await site.browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const res = await anonymous.request.get(`${site.stack.siteUrl}/auth/login?returnTo=%2F`, {
        maxRedirects: 0,
      });
      expect(res.status()).toBe(303);
      const sid = /__Host-isekai-sid=([^;]+)/.exec(res.headers()['set-cookie'] ?? '')?.[1];
      const ttl = await site.redis.ttl(`${site.stack.sessionKeyPrefix}${sid}`);
      expect(ttl).toBeGreaterThan(500);
      expect(ttl).toBeLessThanOrEqual(600);
    } finally {
      await anonymous.close();
    }
  });

  it('has a favicon (/favicon.ico leads to the SVG the layout links)', async () => {
    await page.goto(`${site.stack.siteUrl}/`);
    expect(await page.locator('link[rel="icon"]').getAttribute('href')).toBe('/favicon.svg');
    const ico = await page.request.get(`${site.stack.siteUrl}/favicon.ico`);
    expect(ico.status()).toBe(200);
    expect(ico.url()).toBe(`${site.stack.siteUrl}/favicon.svg`);
    expect(ico.headers()['content-type']).toMatch(/^image\/svg\+xml/);
  });

  it('on a 375 px screen the search box shows its whole placeholder and the score chart text stays readable', async () => {
    const phone = await site.browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 375, height: 800 },
    });
    try {
      const small = await phone.newPage();
      await small.goto(`${site.stack.siteUrl}/`);
      const box = small.locator('#home-q');
      // The placeholder fits: the input is at least as wide as its text needs.
      const fits = await box.evaluate((el) => {
        const input = el as unknown as {
          scrollWidth: number;
          clientWidth: number;
          getBoundingClientRect(): { width: number };
        };
        return input.getBoundingClientRect().width;
      });
      expect(fits).toBeGreaterThan(280);
      await small.screenshot({ path: await artifact('idp-home-375.png'), fullPage: true });
      await small.goto(`${site.stack.siteUrl}/anime/1`);
      const sizes = await small
        .locator('.chart svg text')
        .evaluateAll((els) =>
          els.map(
            (el) =>
              (el as unknown as { getBoundingClientRect(): { height: number } }).getBoundingClientRect()
                .height,
          ),
        );
      expect(sizes.length).toBeGreaterThan(0);
      // Rendered glyph box height of 13-unit text; ≥ 12 px means readable (it was ~7 px).
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(12);
      // The Scores panel has a gap below the facts (Genres …).
      const gap = await small.evaluate(() => {
        const d = globalThis as unknown as {
          document: {
            querySelector(s: string): { getBoundingClientRect(): { top: number; bottom: number } } | null;
          };
        };
        const facts = d.document.querySelector('dl.facts');
        const scores = d.document.querySelector('section[aria-labelledby="h-stats"]');
        return facts && scores
          ? scores.getBoundingClientRect().top - facts.getBoundingClientRect().bottom
          : -1;
      });
      expect(gap).toBeGreaterThanOrEqual(16);
      await small.screenshot({ path: await artifact('idp-anime-375.png'), fullPage: true });
    } finally {
      await phone.close();
    }
  });
});
