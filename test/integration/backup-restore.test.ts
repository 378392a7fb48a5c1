import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Decimal128, MongoClient, ObjectId } from 'mongodb';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createS3 } from '../../functions/lib/data/s3.ts';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-db.ts';

/**
 * Backup → wipe → restore on the local stack, driven by the scripts the CronJobs and restore Jobs run
 * (k3s/backup/postgres.sh, k3s/backup/mongodb.sh, with the backup CLI scripts/backup.ts), into the harness's
 * Ceph RGW: PostgreSQL (a scratch database of the real schema, with pg_dump/pg_restore of this machine:
 * PostgreSQL 15; the cluster runs 17 with its own client tools) and MongoDB on the wire-compatible
 * substitute (mongo-java-server). What the substitute cannot prove: that a real mongod restores the same
 * index options (collations, TTL, partial filters are stored and recreated here, never enforced), that
 * the dump is consistent while a replica set takes writes (each collection is read at its own moment),
 * and anything about authentication or the oplog.
 */
const env = inject('env');
const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const bucket = `isekai-backups-restore-${process.pid}-${Date.now().toString(36)}`;
let s3: S3Client;
let work: string;

/** Run one step of a backup script as its Job would (the CLI here is the TypeScript source). */
async function step(script: string, args: string[], extra: Record<string, string>): Promise<string> {
  const { stdout } = await run('sh', [join(root, 'k3s', 'backup', script), ...args], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      BACKUP_CLI: `${process.execPath} ${join(root, 'scripts', 'backup.ts')}`,
      S3_ENDPOINT: env.S3_ENDPOINT ?? '',
      S3_REGION: env.S3_REGION ?? 'us-east-1',
      S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? '',
      S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? '',
      BACKUP_BUCKET: bucket,
      ...extra,
    },
  });
  return stdout;
}

async function keys(prefix: string): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (page.Contents ?? []).map((object) => object.Key ?? '');
}

beforeAll(async () => {
  s3 = createS3({
    endpoint: env.S3_ENDPOINT ?? '',
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? '',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? '',
  });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  work = await mkdtemp(join(tmpdir(), 'isekai-restore-'));
});

afterAll(async () => {
  const objects = await keys('');
  if (objects.length > 0)
    await s3.send(
      new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects.map((Key) => ({ Key })) } }),
    );
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  await rm(work, { recursive: true, force: true });
});

describe('PostgreSQL backup → wipe → restore (pg_dump custom format to RGW)', () => {
  let scratch: ScratchDatabase;
  beforeAll(async () => {
    scratch = await createScratchDatabase(env.DATABASE_URL ?? '', 'restore');
  });
  afterAll(async () => {
    await scratch?.drop();
  });

  /** Every table's row count and an md5 over its rows in a stable order: equal means the same data. */
  async function fingerprint(url: string): Promise<Record<string, string>> {
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ name: string }>(
        "select quote_ident(tablename) as name from pg_tables where schemaname = 'public' order by 1",
      );
      const result: Record<string, string> = {};
      for (const { name } of tables.rows) {
        const { rows } = await client.query<{ n: string; h: string | null }>(
          `select count(*)::text as n, md5(string_agg(t::text, '|' order by t::text)) as h from ${name} t`,
        );
        result[name] = `${rows[0]?.n}:${rows[0]?.h}`;
      }
      return result;
    } finally {
      await client.end();
    }
  }

  it('the rows written before the backup are back after the database was wiped', async () => {
    const client = new pg.Client({ connectionString: scratch.url });
    await client.connect();
    await client.query(
      "create table backup_probe (id bigint primary key, title text not null, meta jsonb, at timestamptz default '2026-01-01T00:00:00Z')",
    );
    await client.query(
      "insert into backup_probe (id, title, meta) select g, 'タイトル ' || g || E' \\'quoted\\' ,\"x\"', jsonb_build_object('n', g) from generate_series(1, 2000) g",
    );
    await client.end();
    const before = await fingerprint(scratch.url);
    expect(before.backup_probe).toMatch(/^2000:[0-9a-f]{32}$/);
    expect(Object.keys(before).length).toBeGreaterThan(5);

    const dir = await mkdtemp(join(work, 'pg-'));
    const name = new URL(scratch.url).pathname.slice(1);
    const settings = { DATABASE_URL: scratch.url };
    expect(await step('postgres.sh', ['dump', dir], settings)).toMatch(/^dumped /);
    await step('postgres.sh', ['upload', dir], settings);
    expect(await keys(`postgres/${name}/`)).toHaveLength(1);

    // Wipe: the database is dropped and created empty, and the local dump is gone (only RGW has it).
    await scratch.drop();
    const admin = new URL(scratch.url);
    admin.pathname = '/postgres';
    const adminClient = new pg.Client({ connectionString: admin.href });
    await adminClient.connect();
    await adminClient.query(`create database "${name}"`);
    await adminClient.end();
    await rm(dir, { recursive: true });
    expect(await fingerprint(scratch.url)).toEqual({});

    const restoreDir = await mkdtemp(join(work, 'pg-restore-'));
    await step('postgres.sh', ['download', restoreDir], settings);
    expect(await readdir(restoreDir)).toEqual(['restore.dump']);
    await step('postgres.sh', ['restore', restoreDir], settings);
    expect(await fingerprint(scratch.url)).toEqual(before);
  }, 120_000);

  it('a restore with no backup in the bucket fails loudly and changes nothing', async () => {
    const dir = await mkdtemp(join(work, 'pg-none-'));
    await expect(
      step('postgres.sh', ['download', dir], { DATABASE_URL: scratch.url, PGDUMP_NAME: 'never-backed-up' }),
    ).rejects.toThrow(/no backup under s3:\/\/.*postgres\/never-backed-up\//);
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('MongoDB backup → wipe → restore (driver-level dump to RGW, wire-compatible substitute)', () => {
  const database = `isekai_${env.TEST_RUN_ID ?? process.pid}_restore`;
  let client: MongoClient;
  beforeAll(async () => {
    client = new MongoClient(env.MONGO_URL ?? '');
    await client.connect();
  });
  afterAll(async () => {
    await client.db(database).dropDatabase();
    await client.close();
  });

  it('the documents and indexes written before the backup are back after the database was dropped', async () => {
    const db = client.db(database);
    const docs = Array.from({ length: 1500 }, (_, i) => ({
      _id: new ObjectId(),
      animeId: i,
      language: i % 2 ? 'en' : 'ja',
      title: `字幕 ${i} "quoted", line\nbreak`,
      uploadedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)),
      score: Decimal128.fromString(`${i}.25`),
      cues: [{ start: i, end: i + 1.5, text: 'こんにちは' }],
    }));
    await db.collection('subtitles').insertMany(docs);
    await db
      .collection('subtitles')
      .createIndex({ animeId: 1, language: 1 }, { unique: true, name: 'anime_lang' });
    await db.collection('notes').insertOne({ _id: 'fixed-id' as unknown as ObjectId, note: 'string id' });

    const dir = await mkdtemp(join(work, 'mongo-'));
    const settings = { MONGO_URL: env.MONGO_URL ?? '', MONGO_DATABASE: database };
    const dumped = await step('mongodb.sh', ['backup', dir], settings);
    expect(dumped).toContain('"documents":1501');
    expect(await keys(`mongodb/${database}/`)).toHaveLength(1);

    await db.dropDatabase();
    await rm(dir, { recursive: true });
    expect(await db.collection('subtitles').countDocuments()).toBe(0);

    const restoreDir = await mkdtemp(join(work, 'mongo-restore-'));
    expect(await step('mongodb.sh', ['restore', restoreDir], settings)).toContain('"documents":1501');
    const restored = await db
      .collection('subtitles')
      .find({}, { sort: { animeId: 1 } })
      .toArray();
    expect(restored).toEqual(docs);
    expect(await db.collection('notes').findOne({ _id: 'fixed-id' as unknown as ObjectId })).toEqual({
      _id: 'fixed-id',
      note: 'string id',
    });
    const indexes = await db.collection('subtitles').listIndexes().toArray();
    expect(indexes.find((index) => index.name === 'anime_lang')).toMatchObject({
      key: { animeId: 1, language: 1 },
      unique: true,
    });
    // The unique index is in force again: a duplicate is refused.
    await expect(db.collection('subtitles').insertOne({ animeId: 1, language: 'en' })).rejects.toThrow(
      /duplicate key/i,
    );
  }, 120_000);
});
