import { randomBytes, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { MongoClient, MongoServerError } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { start as startCeph } from '../../scripts/servers/ceph-rgw.ts';
import { start as startMongo } from '../../scripts/servers/mongo-wire.ts';
import type { StartedServer } from '../../scripts/servers/types.ts';
import { start as startZipkin } from '../../scripts/servers/zipkin.ts';

/** The three servers the harness starts itself answer as the app expects (independent of globalSetup). */

const servers: StartedServer[] = [];
let env: Record<string, string> = {};

beforeAll(async () => {
  const started = await Promise.allSettled([startCeph(), startMongo(), startZipkin()]);
  for (const result of started) if (result.status === 'fulfilled') servers.push(result.value);
  const failed = started.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
  env = Object.assign({}, ...servers.map((server) => server.env));
}, 180_000);

afterAll(async () => {
  await Promise.all(servers.map((server) => server.stop()));
}, 60_000);

function need(name: string): string {
  const value = env[name];
  if (!value) throw new Error(`server harness did not provide ${name}`);
  return value;
}

describe('ceph-rgw', () => {
  const s3 = () =>
    new S3Client({
      endpoint: need('S3_ENDPOINT'),
      region: need('S3_REGION'),
      credentials: { accessKeyId: need('S3_ACCESS_KEY_ID'), secretAccessKey: need('S3_SECRET_ACCESS_KEY') },
      forcePathStyle: need('S3_FORCE_PATH_STYLE') === 'true',
      // RGW 16 rejects the SDK's default aws-chunked trailer checksums on streaming bodies.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });

  it('puts, heads, gets and deletes objects, including a stream body with ContentLength', async () => {
    const client = s3();
    const Bucket = `servers-test-${randomUUID()}`;
    await client.send(new CreateBucketCommand({ Bucket }));
    try {
      await client.send(
        new PutObjectCommand({ Bucket, Key: 'a.srt', Body: '1\n00:00:01,000 --> 00:00:02,000\nhi\n' }),
      );
      const text = await client.send(new GetObjectCommand({ Bucket, Key: 'a.srt' }));
      expect(await text.Body?.transformToString()).toBe('1\n00:00:01,000 --> 00:00:02,000\nhi\n');

      const payload = randomBytes(256 * 1024);
      await client.send(
        new PutObjectCommand({
          Bucket,
          Key: 'b.bin',
          Body: Readable.from([payload.subarray(0, 100_000), payload.subarray(100_000)]),
          ContentLength: payload.length,
          ContentType: 'application/octet-stream',
        }),
      );
      const head = await client.send(new HeadObjectCommand({ Bucket, Key: 'b.bin' }));
      expect(head.ContentLength).toBe(payload.length);
      expect(head.ContentType).toBe('application/octet-stream');
      const got = await client.send(new GetObjectCommand({ Bucket, Key: 'b.bin' }));
      expect(Buffer.from((await got.Body?.transformToByteArray()) ?? []).equals(payload)).toBe(true);

      await client.send(new DeleteObjectCommand({ Bucket, Key: 'a.srt' }));
      await client.send(new DeleteObjectCommand({ Bucket, Key: 'b.bin' }));
      await expect(client.send(new HeadObjectCommand({ Bucket, Key: 'b.bin' }))).rejects.toMatchObject({
        $metadata: { httpStatusCode: 404 },
      });
    } finally {
      await client.send(new DeleteBucketCommand({ Bucket }));
      client.destroy();
    }
  });
});

describe('mongo-wire', () => {
  it('stores and finds documents and rejects a duplicate key of a unique index with code 11000', async () => {
    const client = new MongoClient(need('MONGO_URL'), { serverSelectionTimeoutMS: 5000 });
    const db = client.db(`servers_test_${randomUUID().slice(0, 8)}`);
    try {
      const subtitles = db.collection<{ sha256: string; animeId: number; language: string }>('subtitles');
      await subtitles.createIndex({ sha256: 1 }, { unique: true });
      await subtitles.insertOne({ sha256: 'aa11', animeId: 5114, language: 'en' });
      await subtitles.insertOne({ sha256: 'bb22', animeId: 5114, language: 'fr' });

      const found = await subtitles
        .find({ animeId: 5114 }, { projection: { _id: 0 } })
        .sort({ language: 1 })
        .toArray();
      expect(found).toEqual([
        { sha256: 'aa11', animeId: 5114, language: 'en' },
        { sha256: 'bb22', animeId: 5114, language: 'fr' },
      ]);

      const duplicate = await subtitles
        .insertOne({ sha256: 'aa11', animeId: 1, language: 'de' })
        .catch((e) => e);
      expect(duplicate).toBeInstanceOf(MongoServerError);
      expect((duplicate as MongoServerError).code).toBe(11000);
      expect(await subtitles.countDocuments()).toBe(2);
    } finally {
      await db.dropDatabase();
      await client.close();
    }
  });
});

describe('zipkin', () => {
  it('accepts a JSON v2 span and returns it from /api/v2/trace/{id}', async () => {
    const zipkin = need('ZIPKIN_URL');
    const traceId = randomBytes(16).toString('hex');
    const span = {
      traceId,
      id: randomBytes(8).toString('hex'),
      name: 'get /anime/{id}',
      kind: 'SERVER',
      timestamp: Date.now() * 1000,
      duration: 1234,
      localEndpoint: { serviceName: 'catalog' },
      tags: { 'http.method': 'GET', 'http.path': '/anime/5114' },
    };
    const posted = await fetch(`${zipkin}/api/v2/spans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify([span]),
    });
    expect(posted.status).toBe(202);

    const trace = await fetch(`${zipkin}/api/v2/trace/${traceId}`);
    expect(trace.status).toBe(200);
    const spans = (await trace.json()) as Array<Record<string, unknown>>;
    expect(spans).toEqual([
      expect.objectContaining({ traceId, id: span.id, name: span.name, kind: 'SERVER' }),
    ]);
  });
});
