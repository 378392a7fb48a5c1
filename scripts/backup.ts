/**
 * The backup CLI the database CronJobs and restore Jobs run (knative/base/700-backups.yaml, image
 * ghcr.io/isekai/backup: this file bundled by `node scripts/build.ts backup`), driven by
 * k3s/backup/postgres.sh and k3s/backup/mongodb.sh:
 *   backup.mjs put <file> <prefix>        upload <file> to s3://$BACKUP_BUCKET/<prefix><basename>; prints the key
 *   backup.mjs get <prefix> <file>        download the newest object under <prefix> (keys sort by their UTC stamp)
 *   backup.mjs mongo-dump <file>          every collection of $MONGO_DATABASE with its indexes, as gzipped
 *                                         canonical Extended JSON lines (MongoDB Extended JSON v2)
 *   backup.mjs mongo-restore <file>       drop each collection in the archive, recreate its indexes, insert its
 *                                         documents (batches of 1000); collections not in the archive are kept
 * Settings: S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, BACKUP_BUCKET; MONGO_URL and
 * MONGO_DATABASE for the mongo commands. Exit 0 done, 64 usage, 78 bad setting, 1 failure (message on stderr).
 *
 * A driver-level dump, not mongodump: the machines that test it cannot install MongoDB's database tools
 * (not in Debian), and the same code then runs in the cluster and in the restore test. It is not a
 * point-in-time snapshot of a busy replica set (no oplog replay, unlike `mongodump --oplog`): each collection
 * is read at its own moment. Our collections are written by one function each (subtitles), so a backup at
 * night is consistent enough; the runbook says so.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { BSON, MongoClient } from 'mongodb';
import { loadConfig, Type } from '../functions/lib/config.ts';
import { createS3 } from '../functions/lib/data/s3.ts';
import { ConfigInvalid } from '../functions/lib/errors.ts';

const { EJSON } = BSON;

const S3Settings = Type.Object({
  S3_ENDPOINT: Type.String({ minLength: 1 }),
  S3_REGION: Type.String({ default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.String({ minLength: 1 }),
  S3_SECRET_ACCESS_KEY: Type.String({ minLength: 1 }),
  BACKUP_BUCKET: Type.String({ minLength: 3 }),
});
const MongoSettings = Type.Object({
  MONGO_URL: Type.String({ pattern: '^mongodb(\\+srv)?://' }),
  MONGO_DATABASE: Type.String({ minLength: 1 }),
});

function s3() {
  const settings = loadConfig(S3Settings);
  const client = createS3({
    endpoint: settings.S3_ENDPOINT,
    region: settings.S3_REGION,
    accessKeyId: settings.S3_ACCESS_KEY_ID,
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
  });
  return { client, bucket: settings.BACKUP_BUCKET };
}

/** Upload a file (multipart when large); returns its key. */
export async function put(file: string, prefix: string): Promise<string> {
  const { client, bucket } = s3();
  const key = `${prefix}${basename(file)}`;
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: createReadStream(file) } }).done();
  return key;
}

/** Download the newest object under the prefix (greatest key: names carry a UTC stamp); returns its key. */
export async function get(prefix: string, file: string): Promise<string> {
  const { client, bucket } = s3();
  let newest: string | undefined;
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
    );
    for (const object of page.Contents ?? [])
      if (object.Key && (!newest || object.Key > newest)) newest = object.Key;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  if (!newest) throw new Error(`no backup under s3://${bucket}/${prefix}`);
  const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: newest }));
  await pipeline(object.Body as NodeJS.ReadableStream, createWriteStream(file));
  return newest;
}

/** One archive line: a collection's index list, or one of its documents. */
type Line = { c: string; indexes: Record<string, unknown>[] } | { c: string; d: unknown };

function mongo() {
  const settings = loadConfig(MongoSettings);
  return { client: new MongoClient(settings.MONGO_URL), database: settings.MONGO_DATABASE };
}

/** Dump every collection (indexes first, then documents); returns the number of documents. */
export async function mongoDump(file: string): Promise<{ collections: number; documents: number }> {
  const { client, database } = mongo();
  const out = new PassThrough();
  const written = pipeline(out, createGzip(), createWriteStream(file));
  let documents = 0;
  const names: string[] = [];
  try {
    const db = client.db(database);
    for (const info of await db.listCollections({ type: 'collection' }, { nameOnly: true }).toArray()) {
      if (info.name.startsWith('system.')) continue;
      names.push(info.name);
      const collection = db.collection(info.name);
      const indexes = (await collection.listIndexes().toArray()).filter((index) => index.name !== '_id_');
      write(out, { c: info.name, indexes });
      for await (const doc of collection.find({}, { sort: { _id: 1 } })) {
        if (!write(out, { c: info.name, d: doc })) await new Promise((resolve) => out.once('drain', resolve));
        documents++;
      }
    }
  } finally {
    out.end();
    await written;
    await client.close();
  }
  return { collections: names.length, documents };
}

function write(out: PassThrough, line: Line): boolean {
  return out.write(`${EJSON.stringify(line, { relaxed: false })}\n`);
}

/** Restore an archive: each collection in it is dropped, its indexes recreated, its documents inserted. */
export async function mongoRestore(file: string): Promise<{ collections: number; documents: number }> {
  const { client, database } = mongo();
  const db = client.db(database);
  let batch: Record<string, unknown>[] = [];
  let current = '';
  let collections = 0;
  let documents = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await db.collection(current).insertMany(batch, { ordered: true });
    documents += batch.length;
    batch = [];
  };
  try {
    const lines = createInterface({
      input: createReadStream(file).pipe(createGunzip()),
      crlfDelay: Infinity,
    });
    for await (const text of lines) {
      if (text === '') continue;
      const line = EJSON.parse(text, { relaxed: false }) as Line;
      if ('indexes' in line) {
        await flush();
        current = line.c;
        collections++;
        await db
          .collection(current)
          .drop()
          .catch(() => false);
        await db.createCollection(current);
        for (const { v: _v, ns: _ns, key, ...options } of line.indexes) {
          await db.collection(current).createIndex(key as Record<string, 1 | -1>, options);
        }
      } else {
        batch.push(line.d as Record<string, unknown>);
        if (batch.length >= 1000) await flush();
      }
    }
    await flush();
  } finally {
    await client.close();
  }
  return { collections, documents };
}

if (import.meta.main) {
  const [command, a, b] = process.argv.slice(2);
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  try {
    if (command === 'put' && a && b !== undefined) print({ uploaded: await put(a, b) });
    else if (command === 'get' && a !== undefined && b) print({ downloaded: await get(a, b), file: b });
    else if (command === 'mongo-dump' && a) print(await mongoDump(a));
    else if (command === 'mongo-restore' && a) print(await mongoRestore(a));
    else {
      process.stderr.write(
        'usage: backup put <file> <prefix> | get <prefix> <file> | mongo-dump <file> | mongo-restore <file>\n',
      );
      process.exitCode = 64;
    }
  } catch (error) {
    process.stderr.write(`backup ${command}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = error instanceof ConfigInvalid ? 78 : 1;
  }
}
