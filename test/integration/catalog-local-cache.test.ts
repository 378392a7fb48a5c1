import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Started, startServer } from '../../bench/lib.ts';
import { rateAnimeFromEnv } from '../../functions/rate-anime/rate-anime.ts';
import { caller } from '../support/caller.ts';
import { type KeycloakTokens, keycloakTokens } from '../support/keycloak-tokens.ts';
import { ownAnime, prepareDatabase, serveOnHost, trackingEnv } from '../support/tracking.ts';

/**
 * The catalog's in-process cache (functions/lib/tracking/local-cache.ts) across replicas: two catalog
 * processes serve detail and search from their own memory, and a rating written through rate-anime is
 * seen by the very next read on each of them — no stale read after a write has returned.
 */
const env = inject('env');
const ROOT = join(import.meta.dirname, '../..');
let rate = '';
let tokens: KeycloakTokens;
const replicas: Started[] = [];
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  await prepareDatabase(env.DATABASE_URL as string);
  tokens = await keycloakTokens(env, 'local-cache');
  const settings = trackingEnv(env, 'local-cache-test');
  const r = await serveOnHost('rate-anime', rateAnimeFromEnv(settings));
  rate = r.url;
  closers.push(r.close);
  for (let i = 0; i < 2; i++) {
    replicas.push(
      await startServer(
        [
          process.execPath,
          join(ROOT, 'functions/lib/host/main.ts'),
          '--source',
          join(ROOT, 'functions/catalog/index.ts'),
          '--target',
          'catalog',
        ],
        settings,
        { readyPath: '/healthz' },
      ),
    );
  }
}, 60_000);
afterAll(async () => {
  for (const close of closers) await close();
  await Promise.all(replicas.map((r) => r.stop()));
  await tokens?.close();
});

const call: ReturnType<typeof caller> = (...args) => caller(tokens)(...args);
const localHits = async (replica: Started) => {
  const text = await (await fetch(`${replica.url}/metrics`)).text();
  return Number(/^catalog_local_cache_hits_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
};

describe('catalog in-process cache over several replicas', () => {
  it('a rating is seen by the next detail and search read on every replica, hits served in process', async () => {
    const title = `Local cache ${Date.now().toString(36)}`;
    const anime = await ownAnime(env.DATABASE_URL as string, title, 12);
    const search = `/anime?q=${encodeURIComponent(title)}`;
    const hitsBefore = await Promise.all(replicas.map(localHits));
    for (let i = 1; i <= 12; i++) {
      // Warm every replica: a miss fills Redis, a Redis hit is kept in process, the next read is local.
      for (const replica of replicas) {
        for (let n = 0; n < 3; n++) {
          expect((await call('GET', `${replica.url}/anime/${anime}`)).status).toBe(200);
          expect((await call('GET', `${replica.url}${search}`)).status).toBe(200);
        }
      }
      const put = await call('PUT', `${rate}/anime/${anime}/rating`, `lc-user-${i}`, { score: (i % 10) + 1 });
      expect(put.status).toBe(200);
      // At once, on every replica, in parallel: the new aggregate, never the one held before the write.
      const reads = await Promise.all(
        replicas.flatMap((replica) => [
          call('GET', `${replica.url}/anime/${anime}`),
          call('GET', `${replica.url}${search}`),
        ]),
      );
      for (let r = 0; r < reads.length; r += 2) {
        expect(reads[r]?.body.stats).toMatchObject({ count: i, mean: put.body.aggregate.mean });
        const item = reads[r + 1]?.body.items.find((x: { id: number }) => x.id === anime);
        expect(item?.mean).toBe(put.body.aggregate.mean);
      }
    }
    const hitsAfter = await Promise.all(replicas.map(localHits));
    // Each replica answered reads from its own memory (the warm-up's third reads at least).
    for (const [i, n] of hitsAfter.entries()) expect(n - (hitsBefore[i] ?? 0)).toBeGreaterThanOrEqual(12);
  }, 120_000);
});
