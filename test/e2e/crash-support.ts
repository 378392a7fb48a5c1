/**
 * The fixture of the crash tests (crash-kill, crash-import, crash-stores .test.ts; issue 17, "Load, soak and
 * crashes"): the functions and the broker each run in a process of their own (scripts/stack/function-process.ts,
 * the lean host as in production) and are killed with SIGKILL while work is in flight, then replaced on the
 * same port as Knative replaces a pod. Effects are counted in the stores. Outages: Redis is a redis-server
 * of the file's own, stopped and started; MongoDB (the shared mongo-wire, in-memory: stopping it would lose
 * its data by design) and Ceph RGW (shared) are reached through TCP proxies of the file's own (every
 * connection reset, then refused, when cut), so the shared servers never see an outage; RabbitMQ likewise
 * (a vhost of its own, reached through a proxy). Every wait is a poll with a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { importRecords, parseDataset } from '../../functions/catalog/import.ts';
import { inTransaction } from '../../functions/lib/data/postgres.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { type FunctionProcess, spawnFunction } from '../../scripts/stack/function-process.ts';
import { startLocalIssuer } from '../support/local-issuer.ts';
import { createScratchDatabase } from '../support/scratch-db.ts';
import { scratchVhost } from '../support/scratch-vhost.ts';
import { scratchBucket } from '../support/subtitles.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import { prepareDatabase } from '../support/tracking.ts';
import { waitFor } from './events-support.ts';

/** How long any wait of the crash tests may take (ms). */
export const DEADLINE_MS = 30_000;
export const AIRED = 'dev.isekai.episode.aired.v1';

/** A redis-server of the caller's own (no persistence: a restart empties it, as a cache may be). */
export interface PrivateRedis {
  readonly port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  drop(): Promise<void>;
}

async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'isekai-crash-redis-'));
  let child: ChildProcess | undefined;
  const answering = () =>
    new Promise<boolean>((resolve) => {
      const p = spawn('redis-cli', ['-p', String(port), 'ping'], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      p.stdout.on('data', (c: Buffer) => {
        out += c.toString();
      });
      p.on('exit', () => resolve(out.includes('PONG')));
    });
  const redis: PrivateRedis = {
    port,
    async start() {
      child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
        { stdio: 'ignore' },
      );
      await waitFor('the private redis-server to answer', answering, DEADLINE_MS);
    },
    async stop() {
      const c = child;
      if (!c || c.exitCode !== null) return;
      const exited = new Promise((resolve) => c.once('exit', resolve));
      c.kill('SIGKILL');
      await exited;
    },
    async drop() {
      await redis.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  await redis.start();
  return redis;
}

/** What a crash test file runs against; `stop` ends every process it started and drops its stores. */
export interface CrashFixture {
  readonly dbUrl: string;
  readonly pool: pg.Pool;
  readonly amqpUrl: string;
  readonly bucket: Awaited<ReturnType<typeof scratchBucket>>;
  readonly mongo: MongoClient;
  readonly mongoDatabase: string;
  readonly redis: PrivateRedis;
  readonly mongoProxy: TcpProxy;
  readonly rgwProxy: TcpProxy;
  /** Where the functions send events (K_SINK): the broker a test spawns listens here. */
  readonly brokerPort: number;
  /** A token for `sub` with `roles`, from the fixture's own issuer. */
  sign(sub: string, roles?: string[]): Promise<string>;
  /** Spawn function `name` on the fixture's settings (with `extra` over them); stopped by `stop`. */
  started(name: string, extra?: Record<string, string>): Promise<FunctionProcess>;
  /** Stop `proc` with the fixture (a broker the test spawned itself). */
  adopt(proc: FunctionProcess): void;
  /** The `n` column of the first row of `sql`, as a number. */
  count(sql: string, params?: unknown[]): Promise<number>;
  stop(): Promise<void>;
}

/** The stores, proxies, issuer and settings of one crash test file, named after `label`. */
export async function startCrashFixture(env: Record<string, string>, label: string): Promise<CrashFixture> {
  const issuer = await startLocalIssuer(label);
  const db = await createScratchDatabase(env.DATABASE_URL ?? '', label);
  await prepareDatabase(db.url);
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  const vhost = await scratchVhost(env, label);
  const bucket = await scratchBucket(env, label);
  const mongo = new MongoClient(env.MONGO_URL ?? '');
  const mongoDatabase = `isekai_${env.TEST_RUN_ID}_${label.replaceAll('-', '_')}`;
  const redis = await startPrivateRedis();
  const mongoTarget = new URL(env.MONGO_URL ?? '');
  const mongoProxy = await startTcpProxy(mongoTarget.hostname, Number(mongoTarget.port));
  const rgwTarget = new URL(env.S3_ENDPOINT ?? '');
  const rgwProxy = await startTcpProxy(rgwTarget.hostname, Number(rgwTarget.port));
  const brokerPort = await freePort();
  const fnEnv = {
    DATABASE_URL: db.url,
    REDIS_URL: `redis://127.0.0.1:${redis.port}`,
    REDIS_KEY_PREFIX: `isekai:${label}:`,
    MONGO_URL: `mongodb://${mongoProxy.address}`,
    MONGO_DATABASE: mongoDatabase,
    S3_ENDPOINT: `http://${rgwProxy.address}`,
    S3_REGION: env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? '',
    S3_FORCE_PATH_STYLE: 'true',
    SUBTITLE_BUCKET: bucket.bucket,
    ...issuer.settings,
    K_SINK: `http://127.0.0.1:${brokerPort}/isekai/default`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const procs: FunctionProcess[] = [];
  return {
    dbUrl: db.url,
    pool,
    amqpUrl: vhost.amqpUrl,
    bucket,
    mongo,
    mongoDatabase,
    redis,
    mongoProxy,
    rgwProxy,
    brokerPort,
    sign: issuer.sign,
    async started(name, extra = {}) {
      const p = await spawnFunction(name, { ...fnEnv, ...extra });
      procs.push(p);
      return p;
    },
    adopt: (proc) => procs.push(proc),
    async count(sql, params = []) {
      const { rows } = await pool.query<{ n: string }>(sql, params);
      return Number(rows[0]?.n ?? 0);
    },
    async stop() {
      for (const p of procs) await p.stop().catch(() => undefined);
      await mongoProxy.close();
      await rgwProxy.close();
      await redis.drop();
      await pool.end();
      await mongo
        .db(mongoDatabase)
        .dropDatabase()
        .catch(() => undefined);
      await mongo.close();
      await bucket.drop().catch(() => undefined);
      await vhost.drop();
      await db.drop();
      issuer.close();
    },
  };
}

/** A JSON call; a cut connection (the process was killed) answers status 0. */
export async function call(method: string, url: string, token?: string, body?: unknown) {
  try {
    const res = await fetch(url, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text };
  } catch {
    return { status: 0, headers: new Headers(), text: '' };
  }
}

/** What a CloudEvent sink of the test's own accepted (binary mode, as the functions send): id, type, data.userId. */
export interface Received {
  readonly id: string;
  readonly type: string;
  readonly userId: string | undefined;
}

/** A CloudEvent sink of the test's own in place of the broker ingress: answers 202 and records every event. */
export async function startRecordingSink() {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let userId: string | undefined;
      try {
        userId = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { userId?: string }).userId;
      } catch {
        userId = undefined;
      }
      received.push({ id: String(req.headers['ce-id']), type: String(req.headers['ce-type']), userId });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    received,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

/** `count` synthetic anime (MAL ids base + 1 …) through the catalogue's own importer, in one transaction. */
export async function importSyntheticAnime(pool: pg.Pool, base: number, count: number): Promise<void> {
  const data = Array.from({ length: count }, (_, i) => ({
    sources: [`https://example.org/crash-import/${base + i + 1}`],
    title: `Crash import ${String(i + 1).padStart(4, '0')}`,
    type: 'TV',
    episodes: 12,
    status: 'FINISHED',
    animeSeason: { season: 'UNDEFINED', year: null },
    malId: base + i + 1,
  }));
  await importRecords((work) => inTransaction(pool, work), parseDataset(JSON.stringify({ data })).records);
}
