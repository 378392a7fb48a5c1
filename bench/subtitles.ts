/**
 * Subtitle benchmark: parse + normalise (decode, detect, parse every cue, sha256) of a 1 MB SRT and a
 * 1 MB ASS against reading the same bytes as lines; and the upload path for 100 KB files (normalise, PutObject
 * to Ceph RGW, the document insert into MongoDB) against a raw PutObject of the same bytes, in the same run.
 * `npm run bench subtitles`, or `node bench/subtitles.ts` (writes bench/results/subtitles-<time>.json).
 * The upload half needs RGW and MongoDB (S3_* and MONGO_URL, defaults: the test servers); without them it
 * is skipped and says so.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import { createS3 } from '../functions/lib/data/s3.ts';
import { createRuntime } from '../functions/lib/runtime.ts';
import { readSubtitle } from '../functions/lib/subtitles/formats/convert.ts';
import { detectFormat } from '../functions/lib/subtitles/formats/detect.ts';
import { decodeSubtitle } from '../functions/lib/subtitles/formats/encoding.ts';
import { openCollections } from '../functions/lib/subtitles/store.ts';
import { normaliseUpload, storeUpload } from '../functions/upload-subtitle/upload.ts';
import { median } from './lib.ts';

const root = new URL('..', import.meta.url).pathname;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const time = (ms: number) =>
  `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)},${pad(ms % 1000, 3)}`;

/** An SRT of about `bytes` bytes (two-line cues with italics, as real files have). */
function srtOf(bytes: number, tag = ''): Buffer {
  const cues: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const cue = `${i + 1}\n${time(i * 2000)} --> ${time(i * 2000 + 1800)}\n${tag}Line ${i} of the <i>dialogue</i>, café\nand its second line.\n`;
    cues.push(cue);
    size += Buffer.byteLength(cue) + 1;
  }
  return Buffer.from(cues.join('\n'));
}

/** An ASS of about `bytes` bytes (override tags, as typeset releases have). */
function assOf(bytes: number): Buffer {
  const head =
    '[Script Info]\nScriptType: v4.00+\nPlayResX: 1920\nPlayResY: 1080\n\n[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Default,Arial,64,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,1,2,60,60,50,1\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n';
  const lines: string[] = [head];
  let size = head.length;
  const cs = (ms: number) =>
    `${Math.floor(ms / 3_600_000)}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)}.${pad(Math.floor(ms / 10) % 100)}`;
  for (let i = 0; size < bytes; i++) {
    const line = `Dialogue: 0,${cs(i * 2000)},${cs(i * 2000 + 1800)},Default,,0,0,0,,{\\an8\\fad(200,200)}Line ${i}, {\\i1}dialogue{\\i0}\\Nsecond line\n`;
    lines.push(line);
    size += line.length;
  }
  return Buffer.from(lines.join(''));
}

function timeIt(work: () => unknown, rounds: number): number {
  const runs: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    work();
    runs.push(performance.now() - start);
  }
  return median(runs);
}

async function benchParse(rounds: number) {
  const files = { 'SRT 1 MB': srtOf(1_000_000), 'ASS 1 MB': assOf(1_000_000) };
  const out: Record<string, { bytes: number; cues: number; ms: number; floorMs: number; ratio: number }> = {};
  for (const [name, bytes] of Object.entries(files)) {
    const normalise = () => {
      const { text } = decodeSubtitle(bytes, 'en');
      const parsed = readSubtitle(text, detectFormat(text));
      createHash('sha256').update(text).digest('hex');
      return parsed.cues.length;
    };
    const floor = () => new TextDecoder('utf-8', { fatal: true }).decode(bytes).split('\n').length;
    normalise(); // warm-up
    floor();
    const ms = timeIt(normalise, rounds);
    const floorMs = timeIt(floor, rounds);
    out[name] = {
      bytes: bytes.length,
      cues: normalise(),
      ms,
      floorMs,
      ratio: Number((ms / floorMs).toFixed(1)),
    };
    process.stdout.write(
      `  ${name.padEnd(10)} parse + normalise ${ms.toFixed(1).padStart(7)} ms (${(bytes.length / 1e3 / ms).toFixed(1)} MB/s)  read as lines ${floorMs.toFixed(1)} ms  → ${out[name].ratio}×\n`,
    );
  }
  return out;
}

async function benchUpload(count: number) {
  const env = process.env;
  const s3 = createS3({
    endpoint: env.S3_ENDPOINT ?? 'http://127.0.0.1:40180',
    region: env.S3_REGION ?? 'us-east-1',
    accessKeyId: env.S3_ACCESS_KEY_ID ?? 'ISEKAIDEVACCESSKEY00',
    secretAccessKey: env.S3_SECRET_ACCESS_KEY ?? 'isekai-dev-secret-key-for-local-rgw-only',
  });
  const mongo = new MongoClient(env.MONGO_URL ?? 'mongodb://127.0.0.1:47017', {
    serverSelectionTimeoutMS: 2000,
  });
  const bucket = `isekai-bench-subtitles-${process.pid}`;
  const database = `isekai_bench_subtitles_${process.pid}`;
  try {
    await mongo.connect();
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  } catch (error) {
    process.stdout.write(`  upload: skipped (RGW or MongoDB not reachable: ${(error as Error).message})\n`);
    await mongo.close().catch(() => undefined);
    return { skipped: true };
  }
  try {
    const collections = await openCollections(mongo.db(database));
    const runtime = createRuntime('bench-subtitles', { env: { LOG_LEVEL: 'silent' } });
    const deps = {
      runtime,
      collections: async () => collections,
      s3,
      bucket,
      findAnime: async () => ({ title: 'Bench', episodes: null }),
      send: undefined,
    };
    const files = Array.from({ length: count }, (_, i) => srtOf(100_000, `f${i} `));
    const identity = { sub: 'bench', username: 'bench', roles: ['uploader'] } as never;
    const raw = async () => {
      const start = performance.now();
      for (const [i, body] of files.entries())
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: `raw/${i}.srt`,
            Body: body,
            ContentLength: body.length,
          }),
        );
      return performance.now() - start;
    };
    const pipeline = async () => {
      const start = performance.now();
      for (const bytes of files) {
        const upload = normaliseUpload({
          fields: { animeId: '1', episode: '1', language: 'en' },
          file: { field: 'file', fileName: 'bench.srt', bytes },
        });
        await storeUpload(deps, identity, upload);
      }
      return performance.now() - start;
    };
    const rawMs = await raw();
    const uploadMs = await pipeline();
    const result = {
      files: count,
      fileBytes: 100_000,
      rawPutPerSec: Number(((count / rawMs) * 1000).toFixed(1)),
      uploadPerSec: Number(((count / uploadMs) * 1000).toFixed(1)),
      ratio: Number((rawMs / uploadMs).toFixed(3)),
    };
    process.stdout.write(
      `  upload 100 KB ×${count}: ${result.uploadPerSec}/s  raw PutObject ${result.rawPutPerSec}/s  → ${(result.ratio * 100).toFixed(0)} % of raw\n`,
    );
    return result;
  } finally {
    const keys = (await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? [];
    for (let i = 0; i < keys.length; i += 1000)
      await s3.send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: keys.slice(i, i + 1000).map((k) => ({ Key: k.Key ?? '' })) },
        }),
      );
    await s3.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => undefined);
    await mongo
      .db(database)
      .dropDatabase()
      .catch(() => undefined);
    await mongo.close();
  }
}

export async function run(options: { quick: boolean }) {
  const parse = await benchParse(options.quick ? 3 : 9);
  const upload = await benchUpload(options.quick ? 20 : 100);
  return { parse, upload };
}

if (import.meta.main) {
  const result = await run({ quick: process.env.BENCH_QUICK === '1' });
  await mkdir(join(root, 'bench/results'), { recursive: true });
  const file = join(
    root,
    'bench/results',
    `subtitles-${new Date().toISOString().replace(/[:.]/g, '-')}.json`,
  );
  await writeFile(file, `${JSON.stringify({ node: process.version, ...result }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
}
