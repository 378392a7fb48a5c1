/**
 * The shared runtime against real servers: PostgreSQL (migrations, transactions), Redis, RabbitMQ,
 * Ceph RGW (S3), the MongoDB wire-compatible server (mongo-java-server, a substitute: no MongoDB server
 * can be installed here) and Zipkin. Settings come from the harness (test/setup/global-setup.ts).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { http } from '@google-cloud/functions-framework';
import { connect } from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../../functions/lib/data/migrate.ts';
import { createMongo } from '../../functions/lib/data/mongo.ts';
import { createPostgres } from '../../functions/lib/data/postgres.ts';
import { createRedis } from '../../functions/lib/data/redis.ts';
import { createS3 } from '../../functions/lib/data/s3.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import { createHttpFunction } from '../../functions/lib/http/http-function.ts';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { json } from '../support/http.ts';

const env = inject('env');
const logLines: Record<string, unknown>[] = [];
const sink = new PassThrough();
sink.on('data', (chunk: Buffer) => {
  for (const line of chunk.toString().split('\n').filter(Boolean)) logLines.push(JSON.parse(line));
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('PostgreSQL', () => {
  it('applies the migrations once and keeps transactions all-or-nothing', async () => {
    await migrate(env.DATABASE_URL ?? '');
    expect(await migrate(env.DATABASE_URL ?? '')).toEqual([]);
    const runtime = createRuntime('runtime-test', { env: { LOG_LEVEL: 'silent' } });
    const db = createPostgres(runtime, { url: env.DATABASE_URL ?? '' });
    try {
      await expect(
        db.transaction(async (tx) => {
          await tx.query("insert into users (id, username) values ('tx-1', 'tx-user')");
          throw new Error('abort after the insert');
        }),
      ).rejects.toThrow('abort after the insert');
      const { rowCount } = await db.query("select 1 from users where id = 'tx-1'");
      expect(rowCount).toBe(0);
    } finally {
      await runtime.shutdown();
    }
  });
});

describe('Redis', () => {
  it('reads and writes under the run key prefix', async () => {
    const runtime = createRuntime('runtime-test', { env: { LOG_LEVEL: 'silent' } });
    const redis = createRedis(runtime, { url: env.REDIS_URL ?? '', keyPrefix: env.REDIS_KEY_PREFIX ?? '' });
    try {
      // No offline queue (fail fast when Redis is down): commands wait for nobody, so wait for ready.
      if (redis.status !== 'ready') await new Promise((resolve) => redis.once('ready', resolve));
      await redis.set('probe', 'v', 'EX', 30);
      expect(await redis.get('probe')).toBe('v');
      expect((await runtime.readiness()).checks.redis?.ok).toBe(true);
    } finally {
      await runtime.shutdown();
    }
  });
});

describe('RabbitMQ', () => {
  it('publishes with confirms and consumes on the run vhost', async () => {
    const connection = await connect(env.AMQP_URL ?? '');
    try {
      const channel = await connection.createConfirmChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      channel.sendToQueue(queue, Buffer.from('hello'), { persistent: true });
      await channel.waitForConfirms();
      const message = await channel.get(queue, { noAck: true });
      expect(message ? message.content.toString() : undefined).toBe('hello');
    } finally {
      await connection.close();
    }
  });
});

describe('Ceph RGW (S3)', () => {
  it('round-trips a streamed object with the RGW-safe client settings', async () => {
    const s3 = createS3({
      endpoint: env.S3_ENDPOINT ?? '',
      region: env.S3_REGION ?? 'us-east-1',
      accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
      secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
    });
    const bucket = `runtime-${env.TEST_RUN_ID}`;
    const { CreateBucketCommand } = await import('@aws-sdk/client-s3');
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const body = 'Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,こんにちは\n'.repeat(200);
    const bytes = Buffer.byteLength(body);
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: 'sub.ass',
        Body: Readable.from([body]),
        ContentLength: bytes,
      }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'sub.ass' }));
    expect(head.ContentLength).toBe(bytes);
    const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'sub.ass' }));
    expect(await got.Body?.transformToString('utf8')).toBe(body);
    s3.destroy();
  });
});

describe('MongoDB (wire-compatible substitute: mongo-java-server)', () => {
  it('inserts, finds and enforces a unique index', async () => {
    const runtime = createRuntime('runtime-test', { env: { LOG_LEVEL: 'silent' } });
    const client = createMongo(runtime, env.MONGO_URL ?? '');
    try {
      const collection = client
        .db(`runtime_${env.TEST_RUN_ID}`)
        .collection<{ sha256: string; n: number }>('probe');
      await collection.createIndex({ sha256: 1 }, { unique: true });
      await collection.insertOne({ sha256: 'abc', n: 1 });
      expect((await collection.findOne({ sha256: 'abc' }))?.n).toBe(1);
      await expect(collection.insertOne({ sha256: 'abc', n: 2 })).rejects.toMatchObject({ code: 11000 });
      expect((await runtime.readiness()).checks.mongodb?.ok).toBe(true);
    } finally {
      await runtime.shutdown();
    }
  });
});

describe('failure paths of an HTTP function', () => {
  let server: Server;
  let base = '';
  const runtime = createRuntime('runtime-failures', {
    env: { LOG_LEVEL: 'info', ZIPKIN_URL: env.ZIPKIN_URL ?? '' },
    logDestination: sink,
  });
  // A database that is not there: connection refused on a closed port.
  const deadDb = createPostgres(runtime, { url: 'postgres://postgres@127.0.0.1:1/none' });

  beforeAll(async () => {
    http(
      'runtime-failures',
      createHttpFunction({
        runtime,
        routes: [
          {
            method: 'GET',
            path: '/anime',
            handle: async () => ({ body: (await deadDb.query('select 1')).rows }),
          },
          { method: 'GET', path: '/traced', handle: () => ({ body: { ok: true } }) },
        ],
      }),
    );
    server = createHostServer({ target: 'runtime-failures' });
    base = await listen(server);
  });
  afterAll(async () => {
    server.close();
    await runtime.shutdown();
  });

  it('answers 503 problem+json with Retry-After when a dependency is down, then opens the circuit', async () => {
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${base}/anime`);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await json(res)).code).toBe('dependency_unavailable');
    }
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/circuit_state\{dependency="postgres",service="runtime-failures"\} 2/);
    const started = performance.now();
    const open = await fetch(`${base}/anime`);
    expect(open.status).toBe(503);
    expect(performance.now() - started).toBeLessThan(1_000); // fails fast: nothing is dialled
  });

  it('puts the trace id in the log line and the span in Zipkin', async () => {
    const traceId = 'aaaaaaaaaaaaaaaa'.repeat(2).replace(/^a/, '1');
    const res = await fetch(`${base}/anime`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(res.status).toBe(503);
    await new Promise<void>((resolve) => runtime.log.flush(() => resolve()));
    await expect
      .poll(() => logLines.some((l) => l.traceId === traceId && l.code === 'dependency_unavailable'))
      .toBe(true);
    await runtime.tracing.flush();
    await expect
      .poll(
        async () => {
          const found = await fetch(`${env.ZIPKIN_URL}/api/v2/trace/${traceId}`);
          return found.status === 200 ? (await json(found)).map((s: { name?: string }) => s.name) : [];
        },
        { timeout: 15_000, interval: 250 },
      )
      .toContain('get /anime');
  });

  it.each([
    ['a handler that waits (503)', '/anime', 503, { error: '503' }],
    ['a handler answered at once (200)', '/traced', 200, {}],
  ])('records the server span of %s with its fields', async (_name, path, status, extra) => {
    const traceId = `${path === '/traced' ? '2' : '3'}${'c'.repeat(31)}`;
    const parentId = '00f067aa0ba902b7';
    const res = await fetch(base + path, { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
    expect(res.status).toBe(status);
    await res.arrayBuffer();
    const id = res.headers.get('traceparent')?.split('-')[2];
    await runtime.tracing.flush();
    const span = async () => {
      const found = await fetch(`${env.ZIPKIN_URL}/api/v2/trace/${traceId}`);
      const spans = found.status === 200 ? await json(found) : [];
      return spans.find((s: { kind?: string }) => s.kind === 'SERVER');
    };
    await expect.poll(span, { timeout: 15_000, interval: 250 }).toBeTruthy();
    const server = await span();
    expect(server).toMatchObject({
      traceId,
      parentId,
      id,
      kind: 'SERVER',
      name: `get ${path}`,
      localEndpoint: { serviceName: 'runtime-failures' },
      tags: { 'http.path': path, 'http.status_code': String(status), ...extra },
    });
    if (status < 500) expect(server.tags.error).toBeUndefined();
    expect(server.timestamp).toBeGreaterThan(0);
  });
});
