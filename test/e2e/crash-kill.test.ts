import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { toBinary } from '../../functions/lib/events/encode.ts';
import { spawnBroker } from '../../scripts/stack/function-process.ts';
import { eventOf, seedAnime } from '../support/notify-fixtures.ts';
import { wholeRatings } from '../support/ratings-invariant.ts';
import { ownAnime } from '../support/tracking.ts';
import { AIRED, type CrashFixture, call, DEADLINE_MS, startCrashFixture } from './crash-support.ts';
import { waitFor } from './events-support.ts';

/**
 * Issue 17, kill -9 while work is in flight: notify (a consumer), the broker (its dispatcher) and
 * rate-anime are killed with SIGKILL mid-work and replaced on the same port, as Knative replaces a pod;
 * every effect is counted in the stores: exactly once, nothing half-applied. The library's import: crash-import.test.ts.
 * The fixture (processes of their own, proxies, the private Redis): crash-support.ts.
 */
const env = inject('env');
let f: CrashFixture;

beforeAll(async () => {
  f = await startCrashFixture(env, 'crash-kill');
}, 120_000);
afterAll(async () => f?.stop());

describe('kill -9 while work is in flight: every effect exactly once, nothing half-applied, the replacement serves', () => {
  it('notify (consumer) killed mid-delivery, then the broker (dispatcher) killed mid-delivery: every accepted episode.aired event notifies each watcher exactly once', async () => {
    const watchers = ['crash-w1', 'crash-w2', 'crash-w3'].map((id) => ({
      id: `${id}-${process.pid}`,
      status: 'watching',
      langs: [],
    }));
    const anime = await seedAnime(f.dbUrl, `crash notify ${process.pid}`, watchers);
    const notify = await f.started('notify');
    const broker = await spawnBroker(f.amqpUrl, { notify: `${notify.url}/` }, { port: f.brokerPort });
    f.adopt(broker);
    expect(broker.port).not.toBe(0);
    const ingress = `${broker.url}/isekai/default`;
    const processed = () =>
      f.count(
        `select count(*) as n from processed_events where consumer = 'notify' and event_id like 'crash-%'`,
      );

    // A producer publishing continuously (as outbox-relay does): each event retried with the same id
    // until the ingress accepts it (202), so an event cut by a broker crash is sent again, never lost.
    const accepted: string[] = [];
    let publishing = true;
    const publish = async (i: number) => {
      const event = {
        ...eventOf(AIRED, anime, { episode: i + 1, airedAt: '2026-11-30T12:00:00Z' }),
        id: `crash-${i}`,
      };
      const message = toBinary(event);
      let last = '';
      for (const deadline = performance.now() + DEADLINE_MS; ; ) {
        const ok = await fetch(ingress, {
          method: 'POST',
          headers: message.headers,
          body: message.body,
          signal: AbortSignal.timeout(5_000),
        })
          .then(async (res) => {
            last = `${res.status} ${await res.text()}`;
            return res.status === 202;
          })
          .catch((error: Error) => {
            last = error.message;
            return false;
          });
        if (ok) break;
        if (performance.now() > deadline) throw new Error(`event crash-${i} never accepted: ${last}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      accepted.push(event.id);
    };
    // Bursts of 10 concurrent events every 200 ms: after each burst deliveries are queued and in flight.
    const producer = (async () => {
      for (let burst = 0; publishing; burst++) {
        await Promise.all(Array.from({ length: 10 }, (_, k) => publish(burst * 10 + k)));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const producerFailure = producer.then(
      () => undefined,
      (error: Error) => error.message,
    );

    /** Wait until deliveries are in flight (accepted, not yet processed) and answer how many were accepted. */
    const inFlight = async (what: string, atLeast: number) => {
      let acceptedThen = 0;
      await waitFor(
        what,
        async () => {
          const done = await processed();
          acceptedThen = accepted.length;
          return done >= atLeast && acceptedThen - done >= 3;
        },
        DEADLINE_MS,
      );
      return acceptedThen;
    };
    const acceptedBeforeNotifyKill = await inFlight('notify to be busy with deliveries', 5);
    await notify.kill9();
    const atKill = await processed();
    expect(acceptedBeforeNotifyKill, 'accepted, not yet processed when notify died').toBeGreaterThan(atKill);
    await notify.restart();
    const acceptedBeforeBrokerKill = await inFlight('the replacement notify to be busy', atKill + 5);
    await broker.kill9();
    const atBrokerKill = await processed();
    expect(acceptedBeforeBrokerKill, 'accepted, not yet processed when the broker died').toBeGreaterThan(
      atBrokerKill,
    );
    await broker.restart();
    const afterBroker = await processed();
    await waitFor(
      'deliveries to resume after the broker restarted',
      async () => (await processed()) >= afterBroker + 5,
      DEADLINE_MS,
    );
    publishing = false;
    expect(await producerFailure).toBeUndefined();

    const inbox = f.mongo.db(f.mongoDatabase).collection('notifications');
    await waitFor(
      'every accepted event to take effect',
      async () => (await processed()) === accepted.length,
      DEADLINE_MS,
    );
    await waitFor(
      'every watcher’s notification of every accepted event',
      async () => (await inbox.countDocuments({ eventId: { $in: accepted } })) >= accepted.length * 3,
      DEADLINE_MS,
    );
    const perEvent = await inbox
      .aggregate<{ _id: string; n: number }>([
        { $match: { eventId: { $in: accepted } } },
        { $group: { _id: '$eventId', n: { $sum: 1 } } },
      ])
      .toArray();
    expect(perEvent).toHaveLength(accepted.length);
    expect(perEvent.filter((e) => e.n !== 3)).toEqual([]);
    expect(accepted.length).toBeGreaterThan(15);
  }, 120_000);

  it('rate-anime killed mid-request: no rating without its aggregates and outbox event; the replacement takes the retries', async () => {
    const anime = await ownAnime(f.dbUrl, 'crash rating');
    const rate = await f.started('rate-anime');
    const users = Array.from({ length: 60 }, (_, i) => `crash-rater-${i}-${process.pid}`);
    const score = (i: number) => (i % 10) + 1;
    const answered = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < users.length; i = next++) {
        const user = users[i] ?? '';
        const res = await call('PUT', `${rate.url}/anime/${anime}/rating`, await f.sign(user), {
          score: score(i),
        });
        answered.set(user, res.status);
      }
    };
    const load = Promise.all(Array.from({ length: 6 }, worker));
    await waitFor(
      'some ratings to be answered',
      () => [...answered.values()].filter((s) => s >= 200 && s < 300).length >= 10,
      DEADLINE_MS,
    );
    await rate.kill9();
    await load;

    const consistent = async () => (await wholeRatings(f.pool, anime)).size;
    // Every answered write is in; every committed one is whole (aggregates and event with it).
    const committed = await consistent();
    const ok = [...answered].filter(([, s]) => s >= 200 && s < 300).map(([u]) => u);
    expect(committed).toBeGreaterThanOrEqual(ok.length);
    expect(
      await f.count('select count(*) as n from ratings where anime_id = $1 and user_id = any($2)', [
        anime,
        ok,
      ]),
    ).toBe(ok.length);
    expect(ok.length).toBeLessThan(users.length); // the kill cut some requests

    await rate.restart();
    for (const [i, user] of users.entries()) {
      if (ok.includes(user)) continue;
      const res = await call('PUT', `${rate.url}/anime/${anime}/rating`, await f.sign(user), {
        score: score(i),
      });
      expect(res.status, res.text).toBeLessThan(300);
    }
    expect(await consistent()).toBe(users.length);
    const mean = users.reduce((sum, _, i) => sum + score(i), 0) / users.length;
    const { rows } = await f.pool.query<{ mean: string }>(
      'select mean from anime_stats where anime_id = $1',
      [anime],
    );
    expect(Number(rows[0]?.mean)).toBeCloseTo(mean, 2);
  }, 120_000);
});
