import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EVENTS } from '../../events/catalogue.ts';
import type { BrokerDef, TriggerDef } from '../../scripts/manifests/knative-types.ts';
import { type RunningBroker, startBroker } from '../../scripts/stack/broker/broker.ts';
import { names } from '../../scripts/stack/broker/topology.ts';
import {
  aired,
  brokerDef,
  post,
  quietRuntime,
  type Subscriber,
  startSubscriber,
  trigger,
  uid,
  waitFor,
} from './events-support.ts';

/**
 * The broker data plane on the machine's real RabbitMQ (a fresh vhost per run): routing by trigger
 * filters, binary delivery with the trace continued, validation at the ingress, retries with backoff,
 * dead letters, drops, FIFO with parallelism 1, and reply events.
 */
const env = inject('env');
const rating = EVENTS.find((e) => e.type === 'dev.isekai.rating.submitted.v1');
const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

function ratingEvent(id: string) {
  return {
    specversion: '1.0',
    id,
    type: 'dev.isekai.rating.submitted.v1',
    source: '/functions/rate-anime',
    subject: '1',
    datacontenttype: 'application/json',
    data: rating?.example,
  };
}

const running: RunningBroker[] = [];
const subscribers: Subscriber[] = [];
afterAll(async () => {
  for (const b of running) await b.close();
  for (const s of subscribers) await s.close();
});

async function subscriber(): Promise<Subscriber> {
  const s = await startSubscriber();
  subscribers.push(s);
  return s;
}

/**
 * The gaps between a subscriber's successive deliveries are the expected backoffs: never shorter (5 ms
 * of timer slack), and less than 400 ms longer: a delivery's own round trip on this loaded machine took up
 * to 330 ms, and 400 ms stays below the next policy's step (delay × 2ⁿ doubles the first 500 ms gap).
 */
function expectGaps(s: Subscriber, expected: number[]): void {
  const gaps = s.received.slice(1).map((r, i) => Math.round(r.at - (s.received[i]?.at ?? 0)));
  expect(gaps).toHaveLength(expected.length);
  gaps.forEach((gap, i) => {
    const want = expected[i] ?? 0;
    expect(gap, `gap ${i + 1} of ${JSON.stringify(gaps)}`).toBeGreaterThanOrEqual(want - 5);
    expect(gap, `gap ${i + 1} of ${JSON.stringify(gaps)}`).toBeLessThan(want + 400);
  });
}

/** Start an in-process broker; `urls` maps subscriber service names to URLs. */
async function broker(
  label: string,
  def: BrokerDef,
  triggers: TriggerDef[],
  urls: Record<string, string>,
): Promise<RunningBroker & { url: string; uid: string }> {
  const id = uid(label);
  const b = await startBroker({
    runtime: quietRuntime('broker'),
    amqpUrl: env.AMQP_URL ?? '',
    brokers: [def],
    triggers,
    resolve: (d) => urls[d.service],
    uid: id,
    timeoutMs: 2_000,
  });
  running.push(b);
  return Object.assign(b, { url: b.ingressUrl('isekai', 'default'), uid: id });
}

describe('routing', () => {
  let a: Subscriber;
  let b: Subscriber;
  let c: Subscriber;
  let url = '';
  beforeAll(async () => {
    [a, b, c] = [await subscriber(), await subscriber(), await subscriber()];
    const type = 'dev.isekai.episode.aired.v1';
    const started = await broker(
      'routing',
      brokerDef(),
      [
        trigger('all-aired', { type }, 'a'),
        trigger('partner-aired', { type, partner: 'abc' }, 'b'),
        trigger('ratings', { type: 'dev.isekai.rating.submitted.v1' }, 'c'),
      ],
      { a: a.url, b: b.url, c: c.url },
    );
    url = started.url;
  });

  it('delivers each event to exactly the triggers whose filters match, in binary mode, trace continued', async () => {
    const withPartner = aired(1, { partner: 'abc' });
    const plain = aired(2);
    const parent = `00-${TRACE}-00f067aa0ba902b7-01`;
    for (const [event, headers] of [
      [withPartner, { traceparent: parent }],
      [plain, {}],
      [ratingEvent('rating-1'), {}],
    ] as const) {
      expect((await post(url, event, headers)).status).toBe(202);
    }
    // Markers behind them in every queue (parallelism 1 is FIFO): once they arrive, nothing else is coming.
    await post(url, aired(3, { partner: 'abc' }));
    await post(url, ratingEvent('rating-marker'));
    await waitFor(
      'markers',
      () => a.received.length >= 3 && b.received.length >= 2 && c.received.length >= 2,
    );
    const ids = (s: Subscriber) => s.received.map((r) => r.headers['ce-id']);
    expect(ids(a)).toEqual([withPartner.id, plain.id, expect.stringMatching(/^aired-/)]);
    expect(ids(b)).toEqual([withPartner.id, expect.stringMatching(/^aired-/)]);
    expect(ids(c)).toEqual(['rating-1', 'rating-marker']);

    const first = a.received[0];
    expect(first?.headers['content-type']).toBe('application/json');
    expect(first?.headers['ce-specversion']).toBe('1.0');
    expect(first?.headers['ce-partner']).toBe('abc');
    expect(JSON.parse(first?.body ?? '')).toEqual(withPartner.data);
    const traceparent = String(first?.headers.traceparent);
    expect(traceparent.split('-')[1]).toBe(TRACE);
    expect(traceparent).not.toBe(parent);
  });
});

describe('ingress validation', () => {
  it('answers invalid events 400 problem+json and never puts them on a queue', async () => {
    const started = await broker(
      'invalid',
      brokerDef(),
      [trigger('parked', { type: 'dev.isekai.episode.aired.v1' }, 'nobody')],
      {},
    );
    const invalid: [string, RequestInit][] = [
      [
        'unknown type',
        {
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': 'x1',
            'ce-source': '/t',
            'ce-type': 'dev.isekai.nope.v1',
            'ce-subject': '1',
          },
          body: '{}',
        },
      ],
      [
        'data against the schema',
        {
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': 'x2',
            'ce-source': '/t',
            'ce-type': 'dev.isekai.episode.aired.v1',
            'ce-subject': '1',
          },
          body: '{"animeId":1,"episode":-1}',
        },
      ],
      ['not a CloudEvent', { headers: { 'content-type': 'application/json' }, body: '{}' }],
      [
        'bad extension name',
        {
          headers: {
            'content-type': 'application/json',
            'ce-specversion': '1.0',
            'ce-id': 'x3',
            'ce-source': '/t',
            'ce-type': 'dev.isekai.episode.aired.v1',
            'ce-subject': '1',
            'ce-Bad_Ext': 'x',
          },
          body: JSON.stringify(aired(1).data),
        },
      ],
    ];
    for (const [name, init] of invalid) {
      const res = await fetch(started.url, { method: 'POST', ...init });
      expect(res.status, name).toBe(400);
      expect(res.headers.get('content-type'), name).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code, name).toBe('validation_failed');
    }
    expect((await fetch(started.url)).status).toBe(405);
    expect((await post(started.url, aired(9))).status).toBe(202);
    const connection = await connect(env.AMQP_URL ?? '');
    try {
      const channel = await connection.createChannel();
      const queue = names.queue(trigger('parked', {}, 'nobody'), started.uid);
      expect((await channel.checkQueue(queue)).messageCount).toBe(1);
    } finally {
      await connection.close();
    }
  });
});

describe('retries and dead letters', () => {
  it('retries with the trigger’s backoff, then dead-letters with the error extensions', async () => {
    const [flaky, refusing, dls] = [await subscriber(), await subscriber(), await subscriber()];
    flaky.respond = (_r, res) => void res.writeHead(503).end('down for maintenance');
    refusing.respond = (_r, res) => void res.writeHead(400).end('no thanks');
    const delivery = {
      retry: 3,
      backoffPolicy: 'linear' as const,
      backoffDelay: 'PT0.5S',
      deadLetterSink: { service: 'dls', namespace: 'isekai' },
    };
    const type = 'dev.isekai.episode.aired.v1';
    const started = await broker(
      'retry',
      brokerDef(),
      [
        trigger('flaky', { type, partner: 'flaky' }, 'flaky', { delivery }),
        trigger('refusing', { type, partner: 'refusing' }, 'refusing', { delivery }),
      ],
      { flaky: flaky.url, refusing: refusing.url, dls: dls.url },
    );
    const failing = aired(1, { partner: 'flaky' });
    const refused = aired(2, { partner: 'refusing' });
    await post(started.url, failing);
    await post(started.url, refused);
    await waitFor('both dead letters', () => dls.received.length === 2);

    expect(flaky.received).toHaveLength(4);
    // Linear: 500, 1000, 1500 ms (exponential would wait 2000 ms before the third retry).
    expectGaps(flaky, [500, 1000, 1500]);
    expect(refusing.received).toHaveLength(1); // 400 is not retried
    const byId = new Map(dls.received.map((r) => [r.headers['ce-id'], r.headers]));
    expect(byId.get(failing.id)).toMatchObject({
      'ce-knativeerrorcode': '503',
      'ce-knativeerrordest': flaky.url,
      'ce-knativeerrordata': 'down for maintenance',
      'ce-type': type,
    });
    expect(byId.get(refused.id)).toMatchObject({
      'ce-knativeerrorcode': '400',
      'ce-knativeerrordest': refusing.url,
    });
  });

  it('falls back to the broker’s exponential backoff, and drops after the first failure with no delivery spec', async () => {
    const [inherits, bare] = [await subscriber(), await subscriber()];
    for (const s of [inherits, bare]) s.respond = (_r, res) => void res.writeHead(500).end();
    const type = 'dev.isekai.episode.aired.v1';
    const withDelivery = await broker(
      'expo',
      brokerDef({ retry: 3, backoffPolicy: 'exponential', backoffDelay: 'PT0.5S' }),
      [trigger('inherits', { type }, 'inherits')],
      { inherits: inherits.url },
    );
    const without = await broker('bare', brokerDef(), [trigger('bare', { type }, 'bare')], {
      bare: bare.url,
    });
    await post(withDelivery.url, aired(1));
    await post(without.url, aired(2));
    await waitFor('four attempts', () => inherits.received.length === 4);
    // Exponential: 500, 1000, 2000 ms. Linear (500, 1000, 1500) fails the third lower bound; delay × 2ⁿ
    // (1000, 2000, 4000) or × 3ⁿ⁻¹ (500, 1500, 4500) fail an upper bound.
    expectGaps(inherits, [500, 1000, 2000]);
    const connection = await connect(env.AMQP_URL ?? '');
    try {
      const channel = await connection.createChannel();
      const queue = names.queue(trigger('bare', {}, 'bare'), without.uid);
      await waitFor(
        'the failed event to leave the queue',
        async () => (await channel.checkQueue(queue)).messageCount === 0 && bare.received.length === 1,
      );
    } finally {
      await connection.close();
    }
    expect(bare.received).toHaveLength(1);
  });
});

describe('ordering and replies', () => {
  it('parallelism 1 delivers in publish order', async () => {
    const s = await subscriber();
    s.respond = async (_r, res) => {
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      res.writeHead(202).end();
    };
    const started = await broker(
      'fifo',
      brokerDef(),
      [trigger('fifo', { type: 'dev.isekai.episode.aired.v1' }, 's', { parallelism: 1 })],
      { s: s.url },
    );
    const sent: string[] = [];
    for (let i = 1; i <= 300; i += 1) {
      const event = aired(i);
      sent.push(event.id);
      expect((await post(started.url, event)).status).toBe(202);
    }
    await waitFor('300 deliveries', () => s.received.length === 300);
    expect(s.received.map((r) => r.headers['ce-id'])).toEqual(sent);
  });

  it('a reply CloudEvent from a subscriber goes back through the ingress to its own triggers', async () => {
    const [replier, ratings] = [await subscriber(), await subscriber()];
    replier.respond = (_r, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'reply-1',
        'ce-type': 'dev.isekai.rating.submitted.v1',
        'ce-source': '/functions/rate-anime',
        'ce-subject': '1',
      });
      res.end(JSON.stringify(rating?.example));
    };
    const started = await broker(
      'reply',
      brokerDef(),
      [
        trigger('replier', { type: 'dev.isekai.episode.aired.v1' }, 'replier'),
        trigger('ratings', { type: 'dev.isekai.rating.submitted.v1' }, 'ratings'),
      ],
      { replier: replier.url, ratings: ratings.url },
    );
    await post(started.url, aired(1));
    await waitFor('the reply', () => ratings.received.length === 1);
    expect(ratings.received[0]?.headers['ce-id']).toBe('reply-1');
    expect(replier.received).toHaveLength(1);
  });
});
