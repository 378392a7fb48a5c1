import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { CloudEventV1 } from 'cloudevents';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeadLetterSink } from '../../functions/dead-letters/sink.ts';
import { createPostgres, type Postgres } from '../../functions/lib/data/postgres.ts';
import { DependencyUnavailable } from '../../functions/lib/errors.ts';
import { createConsumer } from '../../functions/lib/events/consumer.ts';
import { toBinary, toStructured } from '../../functions/lib/events/encode.ts';
import { newEvent } from '../../functions/lib/events/new-event.ts';
import { enqueue, postgresOutbox } from '../../functions/lib/events/outbox.ts';
import { createHttpTransport } from '../../functions/lib/events/transport.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import { createRuntime, type Runtime } from '../../functions/lib/runtime.ts';
import { createRelayHandler } from '../../functions/outbox-relay/relay.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';

/**
 * STYLE rule 8 for every CloudEvent function we ship — outbox-relay, dead-letters and a consumer built
 * with createConsumer — over the wire in binary and structured mode, on functions-framework's test server
 * and on the lean host, against the real PostgreSQL (a scratch database: the relay publishes every row);
 * and outbox-relay's backlog gauges on the lean host's /metrics (what Prometheus scrapes).
 */
const env = inject('env');
const TYPE = 'dev.isekai.episode.aired.v1';
let scratch: ScratchDatabase;
let db: Postgres;
let sink: Server;
let sinkUrl = '';
const sunk: { headers: IncomingHttpHeaders; body: string }[] = [];
const effects: string[] = [];

const quiet = (name: string): Runtime => createRuntime(name, { env: { LOG_LEVEL: 'silent' } });

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}
async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

let serial = 0;
function aired(extra: Record<string, unknown> = {}): CloudEventV1<unknown> {
  serial += 1;
  return {
    specversion: '1.0',
    id: `wire-${process.pid}-${Date.now()}-${serial}`,
    type: TYPE,
    source: '/integrators/wire',
    subject: '1',
    datacontenttype: 'application/json',
    data: { animeId: 1, episode: 1 + (serial % 50), airedAt: '2026-11-23T16:00:00Z' },
    ...extra,
  };
}

/** A 2xx: the broker acks (functions-framework answers 200, the lean host 204). */
const acked = (status: number) => status >= 200 && status < 300;

const modes = { binary: toBinary, structured: toStructured } as const;
async function deliver(url: string, event: CloudEventV1<unknown>, mode: keyof typeof modes) {
  const { headers, body } = modes[mode](event);
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, body: text };
}

beforeAll(async () => {
  scratch = await createScratchDatabase(env.DATABASE_URL as string, 'wire');
  db = createPostgres(quiet('event-functions-test'), { url: scratch.url, max: 4 });
  sink = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      sunk.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(202).end();
    });
  });
  sinkUrl = await listen(sink);

  const relayRuntime = quiet('outbox-relay');
  cloudEvent(
    'outbox-relay',
    createRelayHandler({
      runtime: relayRuntime,
      sources: [postgresOutbox(db, { minAgeMs: 0 })],
      send: createHttpTransport({ runtime: relayRuntime, sink: sinkUrl }),
      batchSize: 100,
    }),
  );
  cloudEvent('dead-letters', createDeadLetterSink({ runtime: quiet('dead-letters'), db }));
  cloudEvent(
    'consumer-fixture',
    createConsumer<{ episode: number }>({
      runtime: quiet('consumer-fixture'),
      db,
      consumer: 'consumer-fixture',
      types: [TYPE],
      handle: async (_tx, event) => {
        if (event.data.episode === 13) throw new DependencyUnavailable('mailer', { retryAfter: 1 });
        effects.push(event.id);
      },
    }),
  );
});
afterAll(async () => {
  await close(sink);
  await db?.pool.end();
  await scratch?.drop();
});

const hosts = {
  'functions-framework': (target: string) => getTestServer(target),
  'lean host': (target: string) => createHostServer({ target, onEventError: () => undefined }),
};

describe.each(Object.entries(hosts))('on %s', (host, make) => {
  const servers: Server[] = [];
  const url: Record<string, string> = {};
  beforeAll(async () => {
    for (const target of ['outbox-relay', 'dead-letters', 'consumer-fixture']) {
      const server = make(target);
      servers.push(server);
      url[target] = await listen(server);
    }
  });
  afterAll(async () => {
    for (const s of servers) await close(s);
  });
  const lean = host === 'lean host';

  describe.each(Object.keys(modes) as (keyof typeof modes)[])('%s mode', (mode) => {
    it('outbox-relay: a PingSource tick publishes the unpublished outbox rows and marks them', async () => {
      const pending = await db.transaction((tx) =>
        enqueue(
          tx,
          newEvent(
            TYPE,
            { animeId: 1, episode: 7, airedAt: '2026-11-23T16:00:00Z' },
            { source: '/functions/library' },
          ),
        ),
      );
      const tick = {
        specversion: '1.0',
        id: `tick-${host}-${mode}`,
        type: 'dev.knative.sources.ping',
        source: '/apis/v1/namespaces/isekai/pingsources/outbox-relay-tick',
        datacontenttype: 'application/json',
        data: { maxRows: 500 },
      };
      const res = await deliver(url['outbox-relay'] ?? '', tick, mode);
      expect(acked(res.status)).toBe(true);
      expect(sunk.map((s) => s.headers['ce-id'])).toContain(pending.id);
      const { rows } = await db.query('select published_at from outbox where id = $1', [pending.id]);
      expect(rows[0]?.published_at).toBeInstanceOf(Date);
    });

    it('outbox-relay: a malformed tick is refused (400 on the lean host) and publishes nothing', async () => {
      const before = sunk.length;
      const res = await deliver(
        url['outbox-relay'] ?? '',
        { ...aired(), type: 'dev.knative.sources.ping', data: { maxRows: 0 } },
        mode,
      );
      expect(res.status).toBe(lean ? 400 : 500);
      if (lean) expect(JSON.parse(res.body).code).toBe('validation_failed');
      expect(sunk.length).toBe(before);
    });

    it('dead-letters: records the event once with its error extensions', async () => {
      const event = aired({
        knativeerrordest: 'http://notify.isekai.svc.cluster.local/',
        knativeerrorcode: '503',
        knativeerrordata: 'mailer down',
      });
      for (let i = 0; i < 2; i += 1)
        expect(acked((await deliver(url['dead-letters'] ?? '', event, mode)).status)).toBe(true);
      const { rows } = await db.query(
        'select event_type, error_dest, error_code, error_data, event from dead_letters where event_id = $1',
        [event.id],
      );
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({
        event_type: TYPE,
        error_dest: 'http://notify.isekai.svc.cluster.local/',
        error_code: 503,
        error_data: 'mailer down',
      });
      expect(rows[0]?.event.data).toEqual(event.data);
    });

    it('dead-letters: refuses an event whose error code is not a status (400 on the lean host)', async () => {
      const event = aired({ knativeerrorcode: 'boom' });
      const res = await deliver(url['dead-letters'] ?? '', event, mode);
      expect(res.status).toBe(lean ? 400 : 500);
      if (lean) expect(JSON.parse(res.body).errors[0].field).toBe('/knativeerrorcode');
    });

    it('consumer: applies an event once however often it is delivered', async () => {
      const event = aired();
      for (let i = 0; i < 3; i += 1)
        expect(acked((await deliver(url['consumer-fixture'] ?? '', event, mode)).status)).toBe(true);
      expect(effects.filter((id) => id === event.id)).toHaveLength(1);
    });

    it('consumer: a type it does not consume is permanent (4xx on the lean host: dead-lettered, not retried)', async () => {
      const res = await deliver(
        url['consumer-fixture'] ?? '',
        aired({ type: 'dev.isekai.subtitle.removed.v1', data: { nope: 1 } }),
        mode,
      );
      expect(res.status).toBe(lean ? 400 : 500);
      if (lean) expect(JSON.parse(res.body).code).toBe('validation_failed');
    });

    it('consumer: a transient failure answers 5xx (retried) and records nothing', async () => {
      const event = aired({
        data: { animeId: 1, episode: 13, airedAt: '2026-11-23T16:00:00Z' },
      });
      const res = await deliver(url['consumer-fixture'] ?? '', event, mode);
      expect(res.status).toBeGreaterThanOrEqual(500);
      if (lean) expect(JSON.parse(res.body).code).toBe('dependency_unavailable');
      const { rows } = await db.query('select 1 from processed_events where event_id = $1', [event.id]);
      expect(rows).toHaveLength(0);
    });
  });
});

describe('outbox-relay on the lean host: /metrics', () => {
  let server: Server;
  let base = '';
  beforeAll(async () => {
    server = createHostServer({ target: 'outbox-relay', onEventError: () => undefined });
    base = await listen(server);
  });
  afterAll(() => close(server));

  it('shows the outbox backlog after each tick (pending events, age of the oldest)', async () => {
    const tick = (id: string, maxRows: number) =>
      deliver(
        base,
        {
          specversion: '1.0',
          id: `metrics-${id}`,
          type: 'dev.knative.sources.ping',
          source: '/apis/v1/namespaces/isekai/pingsources/outbox-relay-tick',
          datacontenttype: 'application/json',
          data: { maxRows },
        },
        'binary',
      );
    const gauge = async (name: string) => {
      const text = await (await fetch(`${base}metrics`)).text();
      const line = new RegExp(`^${name}\\{source="postgresql"[^}]*\\} (\\S+)$`, 'm').exec(text);
      return line ? Number(line[1]) : undefined;
    };
    expect(acked((await tick('drain', 500)).status)).toBe(true);
    // Three rows written two minutes ago; a tick of one row leaves two waiting.
    await db.transaction(async (tx) => {
      for (let episode = 1; episode <= 3; episode += 1) {
        const ce = await enqueue(
          tx,
          newEvent(
            TYPE,
            { animeId: 1, episode, airedAt: '2026-11-23T16:00:00Z' },
            { source: '/functions/library' },
          ),
        );
        await tx.query(`update outbox set created_at = now() - interval '120 seconds' where id = $1`, [
          ce.id,
        ]);
      }
    });
    expect(acked((await tick('one', 1)).status)).toBe(true);
    expect(await gauge('outbox_pending_events')).toBe(2);
    expect(await gauge('outbox_oldest_pending_seconds')).toBeGreaterThanOrEqual(119);
    expect(await gauge('outbox_oldest_pending_seconds')).toBeLessThan(180);
    expect(acked((await tick('rest', 500)).status)).toBe(true);
    expect(await gauge('outbox_pending_events')).toBe(0);
    expect(await gauge('outbox_oldest_pending_seconds')).toBe(0);
  });
});
