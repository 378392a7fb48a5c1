/**
 * One site e2e file's setup, written once: `useSiteStack()` at the top of a test file starts the site stack
 * (test/e2e/site-stack.ts) and Chromium before its tests and stops them, with every page it opened, after;
 * it hands out signed-in pages, dev users' tokens, the stack's stores, and the inbox as notify writes it.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { type Collection, MongoClient, ObjectId } from 'mongodb';
import pg from 'pg';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, inject } from 'vitest';
import { channelOf, createInbox, type NotificationDoc, toView } from '../../functions/lib/inbox/inbox.ts';
import { DEV_USERS, passwordToken } from '../setup/keycloak-client.ts';
import { scratchBucket } from '../support/subtitles.ts';
import { type DevUser, devUser, launchChromium, openSite, type PageOptions } from './site-browser.ts';
import { type SiteStack, type SiteStackOptions, startSiteStack } from './site-stack.ts';

type ScratchBucket = Awaited<ReturnType<typeof scratchBucket>>;

export interface SiteFixtureOptions extends SiteStackOptions {
  /** A scratch S3 bucket of the file's own (named after `label`) as the subtitles function's bucket. */
  readonly bucket?: boolean;
}

export interface SiteFixture {
  /** The harness's connection settings (`inject('env')`). */
  readonly env: Record<string, string>;
  readonly stack: SiteStack;
  readonly browser: Browser;
  /** The stack's PostgreSQL database (a pool of 2, opened on first use). */
  readonly db: pg.Pool;
  /** The harness's MongoDB (the stack's database is `stack.mongoDatabase`), opened on first use. */
  readonly mongo: MongoClient;
  /** The harness's Redis, opened on first use. */
  readonly redis: Redis;
  /** The scratch bucket (`bucket: true` only). */
  readonly bucket: ScratchBucket;
  /** A fresh page (JavaScript on unless said) on the site's home, anonymous or signed in as a dev user. */
  browse(user?: DevUser, options?: PageOptions): Promise<Page>;
  /** A dev user's access token (a password grant of its own) and subject (their id in the stores). */
  tokenOf(user: DevUser): Promise<{ token: string; sub: string }>;
  /** The catalogue id of a seed anime by its MAL id. */
  animeByMal(malId: number): Promise<number>;
  /** The subtitles function's collection in the stack's MongoDB database. */
  subtitles(): Collection;
  /** The stack's notification inbox (functions/lib/inbox), as notify writes it. */
  inbox(): ReturnType<typeof createInbox>;
  /** notify's live signal of a stored notification (functions/notify/notify.ts `signal`). */
  signal(doc: NotificationDoc): Promise<number>;
  /** notify: store, then signal. */
  notify(doc: NotificationDoc): Promise<void>;
}

/** The `sub` claim of a JWT (not verified: the test's own token). */
export const subjectOf = (token: string): string =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()).sub as string;

/** An unread notification of `userId` as notify stores it (by default an `episode.aired` about no anime). */
export function notificationDoc(
  userId: string,
  message: string,
  fields: Partial<NotificationDoc> = {},
): NotificationDoc {
  const now = new Date();
  return {
    _id: new ObjectId(),
    userId,
    eventId: randomUUID(),
    kind: 'episode.aired',
    animeId: null,
    message,
    data: {},
    createdAt: now,
    readAt: null,
    expiresAt: new Date(now.getTime() + 86_400_000),
    ...fields,
  };
}

/**
 * A published SRT subtitle's document (English) as the subtitles function stores an upload: its files at
 * `key` (normalised) and `originalKey` (as uploaded) in the bucket, which the caller fills if it downloads.
 */
export function subtitleDoc(
  animeId: number,
  fields: {
    episode: number;
    release: string;
    fileName: string;
    sizeBytes: number;
    cues: number;
    uploaderId: string;
  },
) {
  const _id = new ObjectId();
  return {
    _id,
    animeId,
    episodeTo: null,
    language: 'en',
    format: 'srt',
    encoding: 'utf-8',
    notes: null,
    key: `subtitles/${animeId}/${_id.toHexString()}.srt`,
    originalKey: `subtitles/${animeId}/${_id.toHexString()}.original`,
    sha256: randomUUID().replace(/-/g, '').padEnd(64, '0'),
    uploaderName: 'uploader1',
    status: 'published',
    downloads: 0,
    openReports: 0,
    createdAt: new Date(),
    pendingEvents: [],
    ...fields,
  };
}

/** Registers the file's beforeAll (stack, bucket, browser) and afterAll (pages, stores, stack, bucket). */
export function useSiteStack(options: SiteFixtureOptions = {}): SiteFixture {
  const env = inject('env');
  let stack: SiteStack | undefined;
  let browser: Browser | undefined;
  let bucket: ScratchBucket | undefined;
  let db: pg.Pool | undefined;
  let mongo: MongoClient | undefined;
  let redis: Redis | undefined;
  const contexts: BrowserContext[] = [];
  const need = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`site fixture: no ${what} (did beforeAll run?)`);
    return value;
  };

  beforeAll(async () => {
    if (options.bucket) bucket = await scratchBucket(env, options.label ?? 'site');
    stack = await startSiteStack(env, { ...options, ...(bucket ? { subtitleBucket: bucket.bucket } : {}) });
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await db?.end();
    await mongo?.close();
    await redis?.quit();
    await stack?.stop();
    // Teardown only: a reused Ceph RGW may already be gone when its owner's run ended first.
    await bucket?.drop().catch(() => undefined);
  });

  const fixture: SiteFixture = {
    env,
    get stack() {
      return need(stack, 'stack');
    },
    get browser() {
      return need(browser, 'browser');
    },
    get bucket() {
      return need(bucket, 'bucket (useSiteStack({ bucket: true }))');
    },
    get db() {
      db ??= new pg.Pool({ connectionString: fixture.stack.databaseUrl, max: 2 });
      return db;
    },
    get mongo() {
      mongo ??= new MongoClient(fixture.stack.mongoUrl);
      return mongo;
    },
    get redis() {
      redis ??= new Redis(env.REDIS_URL ?? '');
      return redis;
    },
    async browse(user, pageOptions) {
      const page = await openSite(fixture.browser, fixture.stack.siteUrl, user && devUser(user), pageOptions);
      contexts.push(page.context());
      return page;
    },
    async tokenOf(user) {
      const token = (await passwordToken(env, user, DEV_USERS[user].password)).access_token;
      return { token, sub: subjectOf(token) };
    },
    async animeByMal(malId) {
      const { rows } = await fixture.db.query<{ id: number }>('select id from anime where mal_id = $1', [
        malId,
      ]);
      expect(rows[0], `seed anime MAL ${malId}`).toBeDefined();
      return rows[0]?.id ?? 0;
    },
    subtitles: () => fixture.mongo.db(fixture.stack.mongoDatabase).collection('subtitles'),
    inbox: () => createInbox(fixture.mongo.db(fixture.stack.mongoDatabase)),
    signal: (doc) =>
      fixture.redis.publish(channelOf(fixture.stack.redisKeyPrefix, doc.userId), JSON.stringify(toView(doc))),
    async notify(doc) {
      await fixture.inbox().insertOnce([doc]);
      await fixture.signal(doc);
    },
  };
  return fixture;
}
