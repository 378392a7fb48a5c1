/**
 * The browser side of the site e2e files: Debian's Chromium, a signed-in page, the small page helpers the
 * flows use (text, submit, screenshots, axe-core), the live notification stream read from inside a page,
 * and pixels read off a screenshot. No vitest hooks here: test/e2e/site-fixture.ts wires them.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import axe from 'axe-core';
import { type Browser, type BrowserContextOptions, chromium, type Locator, type Page } from 'playwright-core';
import { DEV_USERS } from '../setup/keycloak-client.ts';

/** Screenshots of the site e2e files (test/e2e/site-artifacts/, not committed). */
export const ARTIFACTS = join(import.meta.dirname, 'site-artifacts');

/** A path in ARTIFACTS for `name`, the folder made first. */
export async function artifact(name: string): Promise<string> {
  await mkdir(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}

/** A full-page screenshot as ARTIFACTS/<name>.png. */
export async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: await artifact(`${name}.png`), fullPage: true });
}

/**
 * Debian's Chromium (`/usr/bin/chromium`, never a downloaded browser) driven by playwright-core, headless,
 * with the flags this closed network needs: without `--disable-background-networking`,
 * `--disable-component-update` and `--disable-sync` Chromium keeps dialling Google's hosts, which are refused
 * (the env skill's machine file). `--no-sandbox`: the tests run as root.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 60_000,
  });
}

/** Who signs in on the identity provider's form (Keycloak's, or the embedded provider's: same field names). */
export interface Credentials {
  readonly username: string;
  readonly password: string;
}

export type DevUser = keyof typeof DEV_USERS;

/** A dev user of the realm (test/setup/keycloak-client.ts `DEV_USERS`) as credentials. */
export const devUser = (user: DevUser): Credentials => ({
  username: user,
  password: DEV_USERS[user].password,
});

/** Trimmed text of the first match (waits for it). */
export const text = async (locator: Locator): Promise<string> =>
  (await locator.first().textContent())?.trim() ?? '';

/** Click a submit button or link and wait for the page it leads to (every form answers 303 → GET). */
export async function submit(page: Page, locator: Locator): Promise<void> {
  await locator.click();
  await page.waitForLoadState('load');
}

/** Fill the identity provider's login form (the page shows it) and send it. */
export async function fillLogin(page: Page, user: Credentials): Promise<void> {
  await page.locator('input[name="username"]').fill(user.username);
  await page.locator('input[name="password"]').fill(user.password);
  await submit(page, page.locator('#kc-login'));
}

/** From a site page: "Sign in", the provider's form, and back on the site at `siteUrl`. */
export async function signIn(page: Page, siteUrl: string, user: Credentials): Promise<void> {
  await page.getByRole('link', { name: 'Sign in' }).click();
  await fillLogin(page, user);
  await page.waitForURL(`${siteUrl}/**`);
}

export interface PageOptions extends BrowserContextOptions {
  /** The page's default timeout. Default 30 s. */
  readonly timeoutMs?: number;
}

/** A page in a browser context of its own (HTTPS errors ignored: the edge's certificate is self-signed). */
export async function newPage(browser: Browser, options: PageOptions = {}): Promise<Page> {
  const { timeoutMs = 30_000, ...context } = options;
  const page = await (await browser.newContext({ ignoreHTTPSErrors: true, ...context })).newPage();
  page.setDefaultTimeout(timeoutMs);
  return page;
}

/**
 * A page of its own on the site's home, anonymous or (with `user`) signed in and showing who it is. Its
 * context is the caller's to close (`page.context()`).
 */
export async function openSite(
  browser: Browser,
  siteUrl: string,
  user?: Credentials,
  options: PageOptions = {},
): Promise<Page> {
  const page = await newPage(browser, options);
  await page.goto(`${siteUrl}/`);
  if (user) {
    await signIn(page, siteUrl, user);
    await page.locator('.who').waitFor();
  }
  return page;
}

/** axe-core (WCAG 2.1 A/AA) on the page as it is now: one line per violation (the context must bypass CSP). */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axe.source });
  const result = await page.evaluate(() =>
    (globalThis as unknown as { axe: typeof axe }).axe.run(
      (globalThis as unknown as { document: axe.ElementContext }).document,
      { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } },
    ),
  );
  return result.violations.map((v) => `${v.id}: ${v.nodes.length} × ${v.help}`);
}

/**
 * Open the site's live notification stream from inside the page (same origin, its session cookie), with
 * `last` as Last-Event-ID when given, and read it until `until` (a RegExp source, multiline) matches, it
 * ends or `timeoutMs` pass: the status, content type and text read so far.
 */
export function readNotificationStream(
  page: Page,
  options: { last?: string | null; until: string; timeoutMs: number },
): Promise<{ status: number; type: string | null; text: string }> {
  return page.evaluate(
    async ({ last, until, timeoutMs }) => {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), timeoutMs);
      let status = 0;
      let type: string | null = null;
      let text = '';
      try {
        const res = await fetch('/me/notifications/stream', {
          headers: { accept: 'text/event-stream', ...(last ? { 'last-event-id': last } : {}) },
          signal: controller.signal,
        });
        status = res.status;
        type = res.headers.get('content-type');
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
      return { status, type, text };
    },
    { last: options.last ?? null, until: options.until, timeoutMs: options.timeoutMs },
  );
}

export type Box = { left: number; top: number; width: number; height: number };

/**
 * Read a screenshot the way an image viewer does: the PNG decoded by the browser itself (createImageBitmap),
 * then per box the pixels that differ from the neutral grey background (#808080) by more than 40 in all,
 * and those that are strongly yellow. Also the image's size.
 */
export async function inkInBoxes(page: Page, png: Buffer, boxes: Box[]) {
  return page.evaluate(
    async ({ b64, boxes }) => {
      // The page's DOM API (this file is type-checked with Node's lib only).
      type Bitmap = { width: number; height: number };
      type Context2d = {
        drawImage(image: Bitmap, x: number, y: number): void;
        getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
      };
      const dom = globalThis as unknown as {
        createImageBitmap(blob: Blob): Promise<Bitmap>;
        OffscreenCanvas: new (w: number, h: number) => { getContext(kind: '2d'): Context2d | null };
      };
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const bitmap = await dom.createImageBitmap(new Blob([bytes], { type: 'image/png' }));
      const canvas = new dom.OffscreenCanvas(bitmap.width, bitmap.height);
      const ctx = canvas.getContext('2d');
      if (!ctx) throw new Error('no 2d context');
      ctx.drawImage(bitmap, 0, 0);
      const counts = boxes.map((box) => {
        const { data } = ctx.getImageData(box.left, box.top, box.width, box.height);
        let ink = 0;
        let yellow = 0;
        for (let i = 0; i < data.length; i += 4) {
          const [r, g, b] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0];
          if (Math.abs(r - 128) + Math.abs(g - 128) + Math.abs(b - 128) > 40) ink += 1;
          if (r > 200 && g > 200 && b < 80) yellow += 1;
        }
        return { ink, yellow };
      });
      return { width: bitmap.width, height: bitmap.height, counts };
    },
    { b64: png.toString('base64'), boxes },
  );
}
