import { type ChildProcess, spawn } from 'node:child_process';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { rateAnimeFromEnv } from '../../functions/rate-anime/rate-anime.ts';
import { json, type Loose } from '../support/http.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { animeIdByMal, listen, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

const env = inject('env');
const closers: (() => Promise<void>)[] = [];
let tokens: KeycloakTokens;
let akira = 0;

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'catalog-resilience');
  akira = await animeIdByMal(env.DATABASE_URL as string, 47);
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await tokens?.close();
});

const getJson = async (url: string): Promise<{ status: number; body: Loose }> => {
  const res = await fetch(url);
  return { status: res.status, body: await json(res) };
};
const redisErrors = async (base: string) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith('dependency_errors_total{') && l.includes('dependency="redis"'));
  return line ? Number(line.split(' ').at(-1)) : 0;
};

/** cache_lookups_total for one cache and result, from the function's /metrics (0 when absent). */
const lookups = async (base: string, cache: string, result: string) => {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('cache_lookups_total{') &&
        l.includes(`cache="${cache}"`) &&
        l.includes(`result="${result}"`),
    );
  return line ? Number(line.split(' ').at(-1)) : 0;
};

describe('cache hit rate (cache_lookups_total, the capacity dashboard)', () => {
  it('counts a miss, then a hit, for the same anime and the same list', async () => {
    const { url, close } = await serveOnHost(
      'catalog-cachemetric',
      catalogFromEnv(trackingEnv(env, 'cachemetric')),
    );
    closers.push(close);
    // A miss fills the cache, the next read hits. Reads repeat until both hit (a first Redis call on a busy
    // machine can exceed the 300 ms guard and count as an error, which fills nothing), within 10 rounds.
    for (let round = 0; round < 10; round++) {
      expect((await getJson(`${url}/anime/${akira}`)).status).toBe(200);
      expect((await getJson(`${url}/anime?q=akira`)).status).toBe(200);
      if ((await lookups(url, 'anime', 'hit')) > 0 && (await lookups(url, 'list', 'hit')) > 0) break;
    }
    expect(await lookups(url, 'anime', 'miss')).toBeGreaterThanOrEqual(1);
    expect(await lookups(url, 'anime', 'hit')).toBeGreaterThanOrEqual(1);
    expect(await lookups(url, 'list', 'miss')).toBeGreaterThanOrEqual(1);
    expect(await lookups(url, 'list', 'hit')).toBeGreaterThanOrEqual(1);
  });
});

describe('Redis unreachable from the start', () => {
  it('serves list, search and detail from PostgreSQL and counts the failures', async () => {
    const settings = { ...trackingEnv(env, 'noredis'), REDIS_URL: 'redis://127.0.0.1:1' };
    const { url, close } = await serveOnHost('catalog-noredis', catalogFromEnv(settings));
    closers.push(close);
    expect((await getJson(`${url}/anime?q=akira`)).body.items[0].title).toBe('Akira');
    const detail = await getJson(`${url}/anime/${akira}`);
    expect(detail.status).toBe(200);
    expect(detail.body.title).toBe('Akira');
    expect(await redisErrors(url)).toBeGreaterThan(0);
    expect(await lookups(url, 'anime', 'error')).toBeGreaterThan(0);
    expect(await lookups(url, 'anime', 'hit')).toBe(0);
  });
});

describe('Redis stopped mid-flight', () => {
  let redis: ChildProcess;
  const port = 46_380 + Math.floor(Math.random() * 500);
  beforeAll(async () => {
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    );
    closers.push(async () => {
      redis.kill('SIGKILL');
    });
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      retryStrategy: () => 100,
      maxRetriesPerRequest: 0,
    });
    probe.on('error', () => undefined);
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await probe.ping().catch(() => 'no')) !== 'PONG')
      await new Promise((r) => setTimeout(r, 50));
    probe.disconnect();
  });

  it('keeps answering reads and writes; the first read after a write shows it', async () => {
    const settings: Record<string, string> = {
      ...trackingEnv(env, 'private'),
      REDIS_URL: `redis://127.0.0.1:${port}`,
    };
    const catalog = await serveOnHost('catalog-private', catalogFromEnv(settings));
    const rate = await serveOnHost('rate-private', rateAnimeFromEnv(settings));
    closers.push(catalog.close, rate.close);
    const inspector = new Redis(port, '127.0.0.1', {
      keyPrefix: settings.REDIS_KEY_PREFIX,
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
    });
    inspector.on('error', () => undefined);
    // the function's client connects in the background: read until the object is cached
    let before = await getJson(`${catalog.url}/anime/${akira}`);
    for (let deadline = Date.now() + 5_000; Date.now() < deadline; ) {
      if ((await inspector.exists(`catalog:anime:${akira}`)) === 1) break;
      await new Promise((r) => setTimeout(r, 50));
      before = await getJson(`${catalog.url}/anime/${akira}`);
    }
    expect(await inspector.exists(`catalog:anime:${akira}`)).toBe(1);
    await inspector.shutdown('NOSAVE').catch(() => undefined); // the server closes without answering
    inspector.disconnect();
    await new Promise<void>((resolve) =>
      redis.exitCode !== null ? resolve() : redis.once('exit', () => resolve()),
    );

    expect((await getJson(`${catalog.url}/anime?genre=sci-fi`)).status).toBe(200);
    const stillThere = await getJson(`${catalog.url}/anime/${akira}`);
    expect(stillThere).toMatchObject({ status: 200, body: { title: 'Akira' } });
    const put = await fetch(`${rate.url}/anime/${akira}/rating`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${await tokens.sign('res-ivy')}`,
      },
      body: JSON.stringify({ score: 10 }),
    });
    expect(put.status).toBe(200);
    const after = await getJson(`${catalog.url}/anime/${akira}`);
    expect(after.body.stats.count).toBe(before.body.stats.count + 1);
    expect(await redisErrors(catalog.url)).toBeGreaterThan(0);
  });
});

describe('on functions-framework (index.ts as deployed)', () => {
  it('registers "catalog" and answers a search', async () => {
    Object.assign(process.env, trackingEnv(env, 'ff-smoke'));
    await import('../../functions/catalog/index.ts');
    const { url, close } = await listen(getTestServer('catalog'));
    closers.push(close);
    const { status, body } = await getJson(`${url}/anime?q=evangelion&perPage=5`);
    expect(status).toBe(200);
    expect(body.items[0].title).toMatch(/Evangelion/);
    expect((await getJson(`${url}/anime/${akira}`)).body.malId).toBe(47);
  });
});
