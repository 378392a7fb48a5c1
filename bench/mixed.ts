/**
 * The whole platform for load, ramp and soak runs (bench/ramp.ts, bench/soak.ts): every function behind the
 * edge in a process of its own on the lean host (as production images run them), the broker data plane
 * (scripts/stack/broker/main.ts) on a RabbitMQ vhost of its own delivering to notify, real nginx in front; a
 * throwaway PostgreSQL database with the seed catalogue (bench/tracking-fixture.ts), the machine's Redis
 * (own key prefix), MongoDB (own database) and Ceph RGW (own bucket). Load is open-loop: requests are sent
 * at their scheduled times whatever the answers, and latency counts from the scheduled time (no coordinated
 * omission), over HTTPS keep-alive connections to the edge.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:https';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { createS3 } from '../functions/lib/data/s3.ts';
import type { EdgeFunction } from '../nginx/options.ts';
import { start as startRgw } from '../scripts/servers/ceph-rgw.ts';
import { start as startMongoWire } from '../scripts/servers/mongo-wire.ts';
import { startTestEdge, type TestEdge } from '../scripts/servers/nginx.ts';
import { type FunctionProcess, spawnBroker, spawnFunction } from '../scripts/stack/function-process.ts';
import { freePort } from './lib.ts';
import { createFixture, type Fixture } from './tracking-fixture.ts';

const run = promisify(execFile);
const API_HOST = 'api.isekai.localhost';

export interface MixedStack {
  readonly fixture: Fixture;
  readonly edge: TestEdge;
  /** Every process of the platform started here, by name (nginx: master and workers). */
  processes(): Promise<{ name: string; pid: number }[]>;
  readonly animeIds: readonly number[];
  readonly subtitleIds: readonly string[];
  /** One HTTPS request to the edge (keep-alive); resolves with the status (0: network error). */
  send(method: string, path: string, token?: string, body?: unknown): Promise<number>;
  /** Open `/notifications/stream` for `token`; `open()` says whether it is still connected. */
  openStream(token: string): Promise<{ open(): boolean; close(): void }>;
  stop(): Promise<void>;
}

const env = process.env;

/** Start the platform (about 20–60 s on the shared VM). */
export async function startMixedStack(label = 'mixed'): Promise<MixedStack> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const fixture = await createFixture();
    stops.push(() => fixture.close());
    const id = `${label}${process.pid}`;
    const vhost = `isekai-bench-${id}`;
    const amqpBase = new URL(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/');
    await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
    stops.push(() => run('rabbitmqctl', ['-q', 'delete_vhost', vhost]));
    await run('rabbitmqctl', [
      '-q',
      'set_permissions',
      '-p',
      vhost,
      amqpBase.username || 'guest',
      '.*',
      '.*',
      '.*',
    ]);
    amqpBase.pathname = `/${vhost}`;

    // The object store and MongoDB the functions need: found running (the test harness's, kept up between
    // runs) or started here and stopped at the end; S3_ENDPOINT / MONGO_URL point at others instead.
    if (!env.S3_ENDPOINT) {
      const rgw = await startRgw();
      stops.push(() => rgw.stop());
    }
    if (!env.MONGO_URL) {
      const mongo = await startMongoWire();
      stops.push(() => mongo.stop());
    }
    const s3Env = {
      S3_ENDPOINT: env.S3_ENDPOINT ?? 'http://127.0.0.1:40180',
      S3_REGION: env.S3_REGION ?? 'us-east-1',
      S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? 'ISEKAIDEVACCESSKEY00',
      S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? 'isekai-dev-secret-key-for-local-rgw-only',
      S3_FORCE_PATH_STYLE: 'true',
    };
    const s3 = createS3({
      endpoint: s3Env.S3_ENDPOINT,
      region: s3Env.S3_REGION,
      accessKeyId: s3Env.S3_ACCESS_KEY_ID,
      secretAccessKey: s3Env.S3_SECRET_ACCESS_KEY,
    });
    const bucket = `isekai-bench-${id}`;
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    stops.push(async () => {
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      const objects = (listed.Contents ?? []).map((o) => ({ Key: o.Key ?? '' }));
      if (objects.length > 0)
        await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: objects } }));
      await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
    });
    const mongoUrl = env.MONGO_URL ?? 'mongodb://127.0.0.1:47017';
    const mongoDatabase = `isekai_bench_${id}`;
    stops.push(async () => {
      const client = new MongoClient(mongoUrl);
      await client.db(mongoDatabase).dropDatabase();
      await client.close();
    });

    const brokerPort = await freePort();
    const fnEnv: Record<string, string> = {
      ...fixture.env,
      ...s3Env,
      OIDC_AUDIENCE: 'isekai-api',
      MONGO_URL: mongoUrl,
      MONGO_DATABASE: mongoDatabase,
      SUBTITLE_BUCKET: bucket,
      BACKUP_BUCKET: bucket,
      K_SINK: `http://127.0.0.1:${brokerPort}/isekai/default`,
      LOG_LEVEL: 'warn',
    };
    const procs: FunctionProcess[] = [];
    const names: EdgeFunction[] = [
      'edge-auth',
      'catalog',
      'library',
      'rate-anime',
      'subtitles',
      'upload-subtitle',
      'notifications',
    ];
    const ports: Partial<Record<EdgeFunction, number>> = {};
    for (const name of names) {
      const p = await spawnFunction(name, fnEnv);
      procs.push(p);
      stops.push(() => p.stop());
      ports[name] = p.port;
    }
    const notify = await spawnFunction('notify', fnEnv);
    procs.push(notify);
    stops.push(() => notify.stop());
    // The broker must listen on the producers' K_SINK port: started with BROKER_PORT pinned.
    const broker = await spawnBroker(amqpBase.href, { notify: `${notify.url}/` }, { port: brokerPort });
    procs.push(broker);
    stops.push(() => broker.stop());

    const unlimited = {
      perIp: { rate: 1_000_000, burst: 1_000_000 },
      perToken: { rate: 1_000_000, burst: 1_000_000 },
    };
    const edge = await startTestEdge(id, {
      functions: ports,
      defaultPort: await freePort(),
      keycloakUrl: fixture.env.OIDC_JWKS_URL ?? '',
      https: await freePort(),
      http: await freePort(),
      overrides: { limits: unlimited, traceSamplePercent: 0, accessLogBuffer: '64k' },
    });
    stops.push(() => edge.stop());

    const agent = new Agent({ keepAlive: true, maxSockets: 64, ca: edge.ca, servername: API_HOST });
    stops.push(async () => agent.destroy());
    const send = (method: string, path: string, token?: string, body?: unknown) =>
      new Promise<number>((resolve) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = request(
          {
            host: '127.0.0.1',
            port: edge.port,
            method,
            path,
            agent,
            headers: {
              host: API_HOST,
              ...(token ? { authorization: `Bearer ${token}` } : {}),
              ...(payload
                ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
                : {}),
            },
            timeout: 30_000,
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
            res.on('error', () => resolve(0));
          },
        );
        req.on('error', () => resolve(0));
        req.on('timeout', () => req.destroy());
        req.end(payload);
      });

    const client = new pg.Client({ connectionString: fixture.databaseUrl });
    await client.connect();
    const animeIds = (
      await client.query<{ id: number }>('select id from anime order by id limit 200')
    ).rows.map((r) => r.id);
    await client.end();

    // Subtitles to search and download: uploaded through the edge as a user with the uploader role.
    const uploader = await fixture.token('bench-uploader', ['viewer', 'uploader']);
    const subtitleIds: string[] = [];
    for (let i = 0; i < 10; i++) {
      const form = new FormData();
      form.set('animeId', String(animeIds[i % animeIds.length]));
      form.set('episode', '1');
      form.set('language', 'en');
      const srt = `1\n00:00:01,000 --> 00:00:02,000\nbench ${id} ${i}\n\n2\n00:00:03,000 --> 00:00:04,000\nline two\n`;
      form.set('file', new File([srt], 'episode.srt'));
      const res = await fetch(`http://127.0.0.1:${ports['upload-subtitle']}/uploads`, {
        method: 'POST',
        headers: { authorization: `Bearer ${uploader}` },
        body: form,
      });
      const text = await res.text();
      if (res.status !== 201) throw new Error(`seeding a subtitle: ${res.status} ${text}`);
      subtitleIds.push((JSON.parse(text) as { id: string }).id);
    }

    return {
      fixture,
      edge,
      animeIds,
      subtitleIds,
      send,
      async processes() {
        const out = procs.map((p) => ({ name: p.name, pid: p.pid() }));
        const master = edge.child.pid ?? 0;
        out.push({ name: 'nginx master', pid: master });
        const children = await readFile(`/proc/${master}/task/${master}/children`, 'utf8').catch(() => '');
        for (const [i, pid] of children.trim().split(/\s+/).filter(Boolean).entries()) {
          // "nginx: worker process", "nginx: cache manager process", "nginx: cache loader process".
          const title = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => ''))
            .replace(/\0/g, ' ')
            .trim();
          const role = /nginx: (.*?) process/.exec(title)?.[1] ?? 'child';
          out.push({ name: `nginx ${role} ${i + 1}`, pid: Number(pid) });
        }
        out.push({ name: 'load generator (this process)', pid: process.pid });
        return out;
      },
      async openStream(token: string) {
        let connected = true;
        const req = request({
          host: '127.0.0.1',
          port: edge.port,
          path: '/notifications/stream',
          ca: edge.ca,
          servername: API_HOST,
          headers: { host: API_HOST, authorization: `Bearer ${token}`, accept: 'text/event-stream' },
        });
        const ready = new Promise<void>((resolve, reject) => {
          req.on('response', (res) => {
            if (res.statusCode !== 200) reject(new Error(`stream answered ${res.statusCode}`));
            res.on('data', () => resolve());
            res.on('close', () => {
              connected = false;
            });
          });
          req.on('error', (error) => {
            connected = false;
            reject(error);
          });
        });
        req.end();
        await ready;
        return {
          open: () => connected,
          close: () => {
            connected = false;
            req.destroy();
          },
        };
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What one request of a workload does. */
export type Operation = (stack: MixedStack, n: number) => Promise<number>;

/** One interval of an open-loop run: completions, errors and latencies (ms) of requests finished in it. */
export interface Interval {
  /** Seconds since the run started (the interval's end). */
  readonly t: number;
  readonly completed: number;
  readonly errors: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Errors by status (0 = network error or timeout). */
  readonly statuses: Record<string, number>;
}

export const percentile = (sorted: readonly number[], p: number): number =>
  sorted.length === 0
    ? 0
    : (sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0);

/**
 * Drive `operation` at `rate` requests per second for `seconds`, open-loop: each request starts at its
 * scheduled time (in-flight requests capped at `maxInFlight`; one over the cap counts as an error, status
 * `backlog`). `onInterval` gets a summary every `intervalS` seconds.
 */
export async function openLoop(
  stack: MixedStack,
  operation: Operation,
  options: {
    rate: number;
    seconds: number;
    intervalS?: number;
    maxInFlight?: number;
    onInterval?: (i: Interval) => void;
  },
): Promise<{ intervals: Interval[]; minutes: Interval[]; total: Interval }> {
  const intervalS = options.intervalS ?? 10;
  const maxInFlight = options.maxInFlight ?? 512;
  const t0 = performance.now();
  const end = t0 + options.seconds * 1000;
  let inFlight = 0;
  let sent = 0;
  let bucket = { latencies: [] as number[], errors: 0, statuses: {} as Record<string, number> };
  const all = { latencies: [] as number[], errors: 0, statuses: {} as Record<string, number> };
  /** By minute of completion since the start, for p99 per minute. */
  const byMinute: (typeof all)[] = [];
  const intervals: Interval[] = [];
  const summarise = (b: typeof bucket, t: number, seconds: number): Interval => {
    const sorted = [...b.latencies].sort((x, y) => x - y);
    return {
      t: Number(t.toFixed(1)),
      completed: sorted.length,
      errors: b.errors,
      rps: Number(((sorted.length + b.errors) / seconds).toFixed(1)),
      p50Ms: Number(percentile(sorted, 50).toFixed(2)),
      p99Ms: Number(percentile(sorted, 99).toFixed(2)),
      statuses: b.statuses,
    };
  };
  const record = (scheduled: number, status: number | string) => {
    const ok = typeof status === 'number' && status >= 200 && status < 400;
    // Requests finishing after the last full minute (the tail of the run) count in it.
    const minute = Math.min(
      Math.floor((performance.now() - t0) / 60_000),
      Math.max(0, Math.ceil(options.seconds / 60) - 1),
    );
    byMinute[minute] ??= { latencies: [], errors: 0, statuses: {} };
    for (const b of [bucket, all, byMinute[minute]]) {
      if (ok) b.latencies.push(performance.now() - scheduled);
      else {
        b.errors += 1;
        b.statuses[String(status)] = (b.statuses[String(status)] ?? 0) + 1;
      }
    }
  };
  const pending = new Set<Promise<void>>();
  let nextInterval = t0 + intervalS * 1000;
  while (performance.now() < end) {
    const now = performance.now();
    // Request k is due at t0 + k/rate (the first at once), and its latency counts from then.
    const due = Math.floor(((now - t0) / 1000) * options.rate) + 1;
    for (; sent < due; sent++) {
      const scheduled = t0 + (sent / options.rate) * 1000;
      if (inFlight >= maxInFlight) {
        record(scheduled, 'backlog');
        continue;
      }
      inFlight += 1;
      const p = operation(stack, sent)
        .catch(() => 0)
        .then((status) => {
          record(scheduled, status);
          inFlight -= 1;
          pending.delete(p);
        });
      pending.add(p);
    }
    if (now >= nextInterval) {
      const summary = summarise(bucket, (now - t0) / 1000, intervalS);
      intervals.push(summary);
      options.onInterval?.(summary);
      bucket = { latencies: [], errors: 0, statuses: {} };
      nextInterval += intervalS * 1000;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(pending);
  if (bucket.latencies.length + bucket.errors > 0) {
    const now = performance.now();
    const seconds = Math.max(0.001, (now - (nextInterval - intervalS * 1000)) / 1000);
    intervals.push(summarise(bucket, (now - t0) / 1000, seconds));
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const minutes = [...byMinute.entries()].map(([m, b]) =>
    summarise(b ?? { latencies: [], errors: 0, statuses: {} }, (m + 1) * 60, Math.min(60, elapsedS - m * 60)),
  );
  return { intervals, minutes, total: summarise(all, elapsedS, options.seconds) };
}

/** Tokens of `count` bench users (signed once; they live an hour). */
export async function userTokens(stack: MixedStack, count: number): Promise<string[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => stack.fixture.token(`bench-soak-${i}`)));
}

const STATUSES = ['watching', 'completed', 'plan_to_watch', 'on_hold', 'dropped'];

/** The workloads: the read path, the write path, and the mixed workload of real users. */
export function workloads(stack: MixedStack, tokens: readonly string[]) {
  const anime = (n: number) => stack.animeIds[(n * 7919) % stack.animeIds.length] ?? 1;
  const token = (n: number) => tokens[(n * 31) % tokens.length];
  const read: Operation = (s, n) =>
    n % 4 === 3
      ? s.send('GET', `/anime?sort=score&page=${(n % 5) + 1}`)
      : s.send('GET', `/anime/${anime(n)}`);
  const rate: Operation = (s, n) =>
    s.send('PUT', `/anime/${anime(n)}/rating`, token(n), { score: (n % 10) + 1 });
  const list: Operation = (s, n) =>
    s.send('PUT', `/me/library/${anime(n)}`, token(n), { status: STATUSES[n % STATUSES.length] });
  const subtitle: Operation = (s, n) =>
    n % 2 === 0
      ? s.send('GET', `/subtitles?anime=${anime(n % 10)}`)
      : s.send('GET', `/subtitles/${s.subtitleIds[n % s.subtitleIds.length]}/download`);
  // 80 % catalog reads, 10 % list updates, 5 % ratings, 5 % subtitle search/download.
  const mixed: Operation = (s, n) => {
    const slot = n % 20;
    if (slot < 16) return read(s, n);
    if (slot < 18) return list(s, n);
    if (slot === 18) return rate(s, n);
    return subtitle(s, n);
  };
  return { read, write: rate, mixed };
}

/** Ramp `operation` up in steps until it breaks; the table, the maximum throughput and where p99 passes 100 ms. */
export async function ramp(
  stack: MixedStack,
  operation: Operation,
  options: { rates: readonly number[]; stepSeconds: number; label: string },
) {
  const steps: {
    offered: number;
    rps: number;
    p50Ms: number;
    p99Ms: number;
    errors: number;
    statuses: Record<string, number>;
  }[] = [];
  for (const rate of options.rates) {
    const { total } = await openLoop(stack, operation, {
      rate,
      seconds: options.stepSeconds,
      intervalS: options.stepSeconds,
    });
    const step = {
      offered: rate,
      rps: total.rps,
      p50Ms: total.p50Ms,
      p99Ms: total.p99Ms,
      errors: total.errors,
      statuses: total.statuses,
    };
    steps.push(step);
    process.stdout.write(
      `  ${options.label.padEnd(6)} offered ${String(rate).padStart(5)}/s → ${step.rps.toFixed(0).padStart(5)}/s  p50 ${step.p50Ms.toFixed(1).padStart(7)} ms  p99 ${step.p99Ms.toFixed(1).padStart(8)} ms  errors ${step.errors}${step.errors ? ` ${JSON.stringify(step.statuses)}` : ''}\n`,
    );
    // Past saturation: it no longer keeps up, or answers fail, or p99 passed a second.
    if (step.errors > 0 || step.rps < rate * 0.9 || step.p99Ms > 1000) break;
  }
  // The maximum is the best step it sustained: no errors, kept up with the offered rate, p99 within 1 s
  // (the step that broke the ramp does not count).
  const sustained = steps.filter((s) => s.errors === 0 && s.rps >= s.offered * 0.9 && s.p99Ms <= 1000);
  const maxRps = Math.max(0, ...sustained.map((s) => s.rps));
  const over100 = steps.find((s) => s.p99Ms > 100);
  const under100 = steps.filter((s) => s.p99Ms <= 100 && s.errors === 0);
  return {
    steps,
    maxRps,
    /** Highest throughput with p99 ≤ 100 ms and no errors. */
    maxRpsWithinP99_100: Math.max(0, ...under100.map((s) => s.rps)),
    /** First offered rate whose p99 was over 100 ms (undefined: never within the ramp). */
    p99Over100At: over100?.offered,
  };
}
