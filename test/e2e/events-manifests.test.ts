import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { EVENTS } from '../../events/catalogue.ts';
import { triggers } from '../../scripts/manifests/load.ts';
import { post, type Subscriber, startSubscriber, staysTrue, waitFor } from './events-support.ts';

/**
 * The broker process exactly as the local stack runs it (`node scripts/stack/broker/main.ts`), with the topology
 * read from the real Broker, RabbitmqBrokerConfig and Trigger manifests in knative/base.
 */
const env = inject('env');
/** How long nothing more may arrive after the last expected delivery: well past a delivery's round trip. */
const QUIET_MS = 1_500;
let broker: ChildProcess;
let notify: Subscriber;
let deadLetters: Subscriber;
let ingress = '';

function example(type: string, id: string) {
  const spec = EVENTS.find((e) => e.type === type);
  return {
    specversion: '1.0',
    id,
    type,
    source: spec?.direction === 'inbound' ? '/integrators/e2e' : `/functions/${spec?.producer}`,
    subject: String(spec?.example.animeId),
    datacontenttype: 'application/json',
    data: spec?.example,
  };
}

beforeAll(async () => {
  notify = await startSubscriber();
  deadLetters = await startSubscriber();
  broker = spawn(process.execPath, ['scripts/stack/broker/main.ts'], {
    env: {
      ...process.env,
      AMQP_URL: env.AMQP_URL,
      BROKER_PORT: '0',
      LOG_LEVEL: 'warn',
      SUBSCRIBERS: `notify=${notify.url},dead-letters=${deadLetters.url}`,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: broker.stdout as NodeJS.ReadableStream });
  ingress = await new Promise<string>((resolve, reject) => {
    broker.once('exit', (code) => reject(new Error(`broker exited with ${code}`)));
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { msg?: string; url?: string };
      if (entry.msg === 'broker ingress' && entry.url) resolve(entry.url);
    });
  });
});

afterAll(async () => {
  if (broker && broker.exitCode === null) {
    const exited = new Promise((resolve) => broker.once('exit', resolve));
    broker.kill('SIGTERM');
    await exited;
  }
  await notify?.close();
  await deadLetters?.close();
});

describe('broker from knative/base', () => {
  it('routes every type its Triggers name to notify, and nothing else', async () => {
    const subscribed = [...new Set(triggers().map((t) => t.filter.type))].sort();
    expect(subscribed.length).toBeGreaterThan(0);
    expect(subscribed.length).toBeLessThan(EVENTS.length); // some types must not reach notify
    const run = `m-${Date.now().toString(36)}-`;
    for (const spec of EVENTS) {
      expect((await post(ingress, example(spec.type, `${run}${spec.type}`))).status).toBe(202);
    }
    const mine = () => notify.received.filter((r) => String(r.headers['ce-id']).startsWith(run));
    await waitFor('one delivery per subscribed type', () => mine().length >= subscribed.length);
    // Then a quiet period: a late extra delivery (another type, or a duplicate) would show up here.
    await staysTrue('no further delivery', () => mine().length === subscribed.length, QUIET_MS);
    expect(
      mine()
        .map((r) => String(r.headers['ce-type']))
        .sort(),
    ).toEqual(subscribed);
  });

  it('sends an event the subscriber refuses (400) to the dead-letters sink with the error extensions', async () => {
    const id = `refused-${Date.now().toString(36)}`;
    notify.respond = (r, res) =>
      r.headers['ce-id'] === id ? void res.writeHead(400).end('refused') : void res.writeHead(204).end();
    const type = triggers()[0]?.filter.type ?? '';
    await post(ingress, example(type, id));
    const dead = () => deadLetters.received.filter((r) => r.headers['ce-id'] === id);
    await waitFor('the dead letter', () => dead().length === 1);
    expect(dead()[0]?.headers).toMatchObject({
      'ce-id': id,
      'ce-type': type,
      'ce-knativeerrorcode': '400',
      'ce-knativeerrordest': notify.url,
    });
  });
});
