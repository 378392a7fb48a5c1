import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toBinary } from '../../functions/lib/events/encode.ts';
import { spawnBroker } from '../../scripts/stack/function-process.ts';
import { eventOf } from '../support/notify-fixtures.ts';
import { scratchVhost } from '../support/scratch-vhost.ts';
import { srtOf } from '../support/subtitles.ts';
import { startTcpProxy } from '../support/tcp-proxy.ts';
import { ownAnime } from '../support/tracking.ts';
import { AIRED, type CrashFixture, call, DEADLINE_MS, startCrashFixture } from './crash-support.ts';
import { startSubscriber, waitFor } from './events-support.ts';

/**
 * Issue 17, stores stopped and started during a short load: Redis (a redis-server of this file's own) is
 * stopped, MongoDB, Ceph RGW and RabbitMQ are cut by TCP proxies of this file's own (the shared servers never
 * see an outage); the documented degraded answers, and nothing lost. The nginx edge: crash-edge.test.ts.
 * The fixture (processes of their own, proxies, the private Redis): crash-support.ts.
 */
const env = inject('env');
let f: CrashFixture;

beforeAll(async () => {
  f = await startCrashFixture(env, 'crash-stores');
}, 120_000);
afterAll(async () => f?.stop());

describe('a store stopped and started during a short load: the documented degraded behaviour, nothing lost', () => {
  it('Redis (a redis-server of this file’s own) down: catalog reads answer from PostgreSQL, rating writes succeed and are read back; after restart the same', async () => {
    const anime = await ownAnime(f.dbUrl, 'crash redis');
    const catalog = await f.started('catalog');
    const rate = await f.started('rate-anime');
    /** `stats.count` of the catalog detail: how many ratings the reader sees. */
    const scoreCount = async () => {
      const res = await call('GET', `${catalog.url}/anime/${anime}`);
      expect(res.status, res.text).toBe(200);
      return (JSON.parse(res.text) as { stats: { count: number } }).stats.count;
    };
    let written = 0;
    const rateAs = async (user: string, value: number) => {
      const res = await call('PUT', `${rate.url}/anime/${anime}/rating`, await f.sign(user), {
        score: value,
      });
      expect(res.status, res.text).toBeLessThan(300);
      written += 1;
    };
    // Warm: cached in Redis.
    await rateAs(`crash-redis-a-${process.pid}`, 7);
    expect(await scoreCount()).toBe(1);
    expect(await scoreCount()).toBe(1);

    let reading = true;
    const failures: number[] = [];
    const reader = (async () => {
      while (reading) {
        const res = await call('GET', `${catalog.url}/anime/${anime}`);
        if (res.status !== 200) failures.push(res.status);
      }
    })();
    await f.redis.stop();
    await rateAs(`crash-redis-b-${process.pid}`, 9);
    expect(await scoreCount()).toBe(2); // no stale read after the write returned, Redis or not
    await f.redis.start();
    await rateAs(`crash-redis-c-${process.pid}`, 5);
    expect(await scoreCount()).toBe(3);
    reading = false;
    await reader;
    expect(failures).toEqual([]);
    expect(written).toBe(3);
    expect(await f.count('select count(*) as n from ratings where anime_id = $1', [anime])).toBe(3);
  }, 90_000);

  it('MongoDB and then Ceph RGW cut: subtitle search and download answer 503 with Retry-After, uploads refused whole; after recovery every subtitle is there', async () => {
    const anime = await ownAnime(f.dbUrl, 'crash subtitles');
    const uploads = await f.started('upload-subtitle');
    const subs = await f.started('subtitles');
    const upload = async (episode: number) => {
      const form = new FormData();
      form.set('animeId', String(anime));
      form.set('episode', String(episode));
      form.set('language', 'en');
      form.set('file', new File([srtOf(`crash ${process.pid} ${episode}`)], 'episode.srt'));
      try {
        const res = await fetch(`${uploads.url}/uploads`, {
          method: 'POST',
          headers: { authorization: `Bearer ${await f.sign(`crash-up-${process.pid}`, ['uploader'])}` },
          body: form,
          signal: AbortSignal.timeout(20_000),
        });
        return { status: res.status, headers: res.headers, body: await res.text() };
      } catch {
        return { status: 0, headers: new Headers(), body: '' };
      }
    };
    const first = await upload(1);
    expect(first.status, first.body).toBe(201);
    const firstId = (JSON.parse(first.body) as { id: string }).id;
    const search = () => call('GET', `${subs.url}/subtitles?anime=${anime}`);
    const download = (id: string) => call('GET', `${subs.url}/subtitles/${id}/download`);
    expect((await download(firstId)).status).toBe(200);
    const objectsBefore = (await f.bucket.keys()).length;

    // A short load of searches and downloads for the whole scenario: every answer is a 200 or a 503
    // problem with Retry-After (the documented degraded answer), never another error or a hang.
    let loading = true;
    const seen: string[] = [];
    const load = (async () => {
      while (loading) {
        for (const res of await Promise.all([search(), download(firstId)])) {
          const degraded =
            res.status === 503 &&
            /^\d+$/.test(res.headers.get('retry-after') ?? '') &&
            (res.headers.get('content-type') ?? '').includes('application/problem+json');
          seen.push(
            res.status === 200 ? '200' : degraded ? '503 problem + Retry-After' : `${res.status} ${res.text}`,
          );
        }
      }
    })();

    // MongoDB cut: metadata unreachable.
    await f.mongoProxy.cut();
    await waitFor('search to answer 503', async () => (await search()).status === 503, DEADLINE_MS);
    const down = await search();
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(down.headers.get('content-type')).toContain('application/problem+json');
    const refused = await upload(2);
    expect(refused.status).toBeGreaterThanOrEqual(500);
    await f.mongoProxy.restore();
    await waitFor('search to answer 200 again', async () => (await search()).status === 200, DEADLINE_MS);
    // All-or-nothing: no subtitle document for the refused upload, and no object left without one.
    const docs = await f.mongo.db(f.mongoDatabase).collection('subtitles').countDocuments({ animeId: anime });
    expect(docs).toBe(1);
    expect((await f.bucket.keys()).length).toBe(objectsBefore);

    // RGW cut: search still answers (metadata in MongoDB), download is 503 with Retry-After.
    await f.rgwProxy.cut();
    expect((await search()).status).toBe(200);
    const noFile = await download(firstId);
    expect(noFile.status, noFile.text).toBe(503);
    expect(noFile.headers.get('retry-after')).toMatch(/^\d+$/);
    const refusedToo = await upload(3);
    expect(refusedToo.status).toBeGreaterThanOrEqual(500);
    await f.rgwProxy.restore();
    await waitFor(
      'download to answer 200 again',
      async () => (await download(firstId)).status === 200,
      DEADLINE_MS,
    );
    const after = await download(firstId);
    expect(after.text).toContain(`crash ${process.pid} 1`);
    expect(await f.mongo.db(f.mongoDatabase).collection('subtitles').countDocuments({ animeId: anime })).toBe(
      1,
    );
    const again = await upload(2);
    expect(again.status, again.body).toBe(201);
    const listed = JSON.parse((await search()).text) as { items: unknown[] };
    expect(listed.items).toHaveLength(2);
    loading = false;
    await load;
    expect(new Set(seen)).toEqual(new Set(['200', '503 problem + Retry-After']));
  }, 120_000);

  it('RabbitMQ cut under a short load of events: the ingress answers 503 with Retry-After (never 202) for what it could not confirm; every event it accepted is delivered', async () => {
    const amqp = await scratchVhost(env, 'crash-amqp');
    const target = new URL(amqp.amqpUrl);
    const amqpProxy = await startTcpProxy(target.hostname, Number(target.port || 5672));
    const proxied = new URL(amqp.amqpUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(amqpProxy.port);
    const subscriber = await startSubscriber();
    const broker = await spawnBroker(proxied.toString(), { notify: subscriber.url });
    f.adopt(broker);
    try {
      const ingress = `${broker.url}/isekai/default`;
      const answers: string[] = [];
      const accepted = new Set<string>();
      let publishing = true;
      /** A producer as outbox-relay is: the same event id again until the ingress answers 202. */
      const publish = async (i: number) => {
        const event = {
          ...eventOf(AIRED, 1, { episode: i + 1, airedAt: '2026-11-30T12:00:00Z' }),
          id: `amqp-${i}`,
        };
        const message = toBinary(event);
        for (const deadline = performance.now() + DEADLINE_MS; ; ) {
          const res = await fetch(ingress, {
            method: 'POST',
            headers: message.headers,
            body: message.body,
            signal: AbortSignal.timeout(10_000),
          });
          await res.arrayBuffer();
          const retryAfter = /^\d+$/.test(res.headers.get('retry-after') ?? '');
          answers.push(res.status === 503 && retryAfter ? '503 + Retry-After' : String(res.status));
          if (res.status === 202) break;
          if (performance.now() > deadline) throw new Error(`event amqp-${i} never accepted: ${res.status}`);
          await new Promise((r) => setTimeout(r, 100));
        }
        accepted.add(event.id);
      };
      const producer = (async () => {
        for (let burst = 0; publishing; burst++) {
          await Promise.all(Array.from({ length: 5 }, (_, k) => publish(burst * 5 + k)));
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      await waitFor('events to be accepted', () => accepted.size >= 10, DEADLINE_MS);
      await amqpProxy.cut();
      await waitFor(
        'the ingress to refuse with 503',
        () => answers.filter((a) => a === '503 + Retry-After').length >= 5,
        DEADLINE_MS,
      );
      const duringOutage = accepted.size;
      await amqpProxy.restore();
      await waitFor('events to be accepted again', () => accepted.size >= duringOutage + 10, DEADLINE_MS);
      publishing = false;
      await producer;

      expect(new Set(answers)).toEqual(new Set(['202', '503 + Retry-After']));
      const delivered = () => new Set(subscriber.received.map((r) => String(r.headers['ce-id'])));
      await waitFor(
        'every accepted event to be delivered',
        () => [...accepted].every((id) => delivered().has(id)),
        DEADLINE_MS,
      );
      // At-least-once: a delivery cut by the outage may come twice (notify dedupes by event id).
      const duplicates = subscriber.received.length - delivered().size;
      console.info(
        `RabbitMQ cut: ${accepted.size} events accepted, ${answers.filter((a) => a !== '202').length} answers 503, ${duplicates} duplicate deliveries`,
      );
    } finally {
      await broker.stop();
      await subscriber.close();
      await amqpProxy.close();
      await amqp.drop();
    }
  }, 60_000);
});
