/**
 * Events benchmark: CloudEvents per second through the platform's path (HTTP → broker ingress → RabbitMQ
 * quorum queue → dispatcher → CloudEvent function on the lean host) against raw amqplib publish-with-
 * confirms and consume on the same RabbitMQ, measured in the same run, and against an HTTP floor (bare
 * node:http publishing with confirms under the same wrk load, `events-floor.ts`). Writes
 * bench/results/events-*.json.
 * Run: `node bench/events.ts` (AMQP_BASE_URL, default amqp://guest:guest@127.0.0.1:5672; needs rabbitmqctl).
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { cloudEvent } from '@google-cloud/functions-framework';
import { connect } from 'amqplib';
import { EVENTS } from '../events/catalogue.ts';
import { createHostServer } from '../functions/lib/host/server.ts';
import { cpuByThread, cpuOf, load } from './lib.ts';

const exec = promisify(execFile);
const BASE = process.env.AMQP_BASE_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
let RAW_MESSAGES = Number(process.env.BENCH_RAW_MESSAGES ?? 20_000);
let SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const vhost = `isekai-bench-${Date.now().toString(36)}`;
const amqpUrl = `${BASE}/${vhost}`;
const spec = EVENTS.find((e) => e.type === 'dev.isekai.episode.aired.v1');
const body = JSON.stringify(spec?.example);

/** Raw amqplib: publish with confirms (window of 1000 unconfirmed), then consume with prefetch 100. */
async function raw(): Promise<{ publishPerSec: number; consumePerSec: number }> {
  const connection = await connect(amqpUrl);
  const channel = await connection.createConfirmChannel();
  await channel.assertExchange('bench.raw', 'headers', { durable: true });
  await channel.assertQueue('bench.raw', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue('bench.raw', 'bench.raw', '', { type: spec?.type ?? '', 'x-match': 'all' });
  const headers = {
    type: spec?.type,
    source: '/bench',
    id: 'x',
    specversion: '1.0',
    subject: '1',
  };
  const content = Buffer.from(body);
  let t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < RAW_MESSAGES; i += 1) {
    pending.push(
      new Promise((resolve, reject) =>
        channel.publish('bench.raw', '', content, { persistent: true, headers }, (e: unknown) =>
          e ? reject(e) : resolve(),
        ),
      ),
    );
    if (pending.length >= 1000) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  const publishPerSec = RAW_MESSAGES / ((performance.now() - t0) / 1000);
  const consumer = await connection.createChannel();
  await consumer.prefetch(100);
  let seen = 0;
  t0 = performance.now();
  const consumePerSec = await new Promise<number>((resolve) => {
    void consumer.consume('bench.raw', (m) => {
      if (!m) return;
      consumer.ack(m);
      seen += 1;
      if (seen === RAW_MESSAGES) resolve(RAW_MESSAGES / ((performance.now() - t0) / 1000));
    });
  });
  await connection.close();
  return { publishPerSec, consumePerSec };
}

/** The load both HTTP paths get: wrk, one binary-mode event per POST (autocannon on request). */
function ingressLoad(): Parameters<typeof load>[1] {
  return {
    seconds: SECONDS,
    connections: Number(process.env.BENCH_EVENTS_CONNECTIONS ?? 128),
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': 'bench',
      'ce-type': spec?.type ?? '',
      'ce-source': '/integrators/bench',
      'ce-subject': '1',
    },
    body,
    // wrk (C) unless BENCH_EVENTS_LOADGEN=autocannon: autocannon (JS) took a large share of the 2 cores.
    wrkWithBody: process.env.BENCH_EVENTS_LOADGEN !== 'autocannon',
  };
}

/** The first stdout line of `child` that is JSON with a string `key` (a server announcing its URL). */
function announced(child: ReturnType<typeof spawn>, key: string, msg?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`exited (${code}) before listening`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      const entry = JSON.parse(line) as Record<string, unknown>;
      const value = entry[key];
      if (typeof value === 'string' && (msg === undefined || entry.msg === msg)) resolve(value);
    });
  });
}

/**
 * The HTTP floor (our row, beside the issue's): bare node:http publishing each POST with raw amqplib and
 * confirms while a raw consumer drains the queue (`events-floor.ts`, a process of its own), driven by the
 * same wrk load as the ingress — what an HTTP ingress costs before any of the platform's work.
 */
async function httpFloor(): Promise<{ publishPerSec: number; cpuUsPerEvent: number; p50Ms: number }> {
  const floor = spawn(process.execPath, [new URL('./events-floor.ts', import.meta.url).pathname], {
    env: { ...process.env, AMQP_URL: amqpUrl },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await announced(floor, 'url');
  try {
    const cpu0 = await cpuOf(floor.pid ?? 0);
    const result = await load(url, ingressLoad());
    const cpuMs = (await cpuOf(floor.pid ?? 0)) - cpu0;
    const accepted = Math.max(1, Math.round(result.requestsPerSec * SECONDS) - result.non2xx);
    if (result.non2xx > 0) throw new Error(`events floor: ${result.non2xx} answers were not 202`);
    return {
      publishPerSec: result.requestsPerSec,
      cpuUsPerEvent: (cpuMs * 1000) / accepted,
      p50Ms: result.p50Ms,
    };
  } finally {
    floor.kill('SIGTERM');
    await once(floor, 'exit');
  }
}

/** The platform path, with the broker process as `npm start` runs it (knative/base topology). */
async function platform(): Promise<{
  ingressPerSec: number;
  endToEndPerSec: number;
  accepted: number;
  /** Broker process CPU (user + system) per accepted event, µs: robust where throughput is not. */
  brokerCpuUsPerEvent: number;
  /** Median ingress latency (POST → 202, i.e. the publisher confirm), ms. */
  ingressP50Ms: number;
  /** The same CPU split by thread name (`MainThread`, `broker-dispatch`, `V8Worker` = GC…), µs per event. */
  cpuUsPerEventByThread: Record<string, number>;
}> {
  let received = 0;
  cloudEvent('bench-notify', () => {
    received += 1;
  });
  const fn = createHostServer({ target: 'bench-notify', onEventError: () => undefined });
  await new Promise<void>((resolve) => fn.listen(0, '127.0.0.1', resolve));
  const fnUrl = `http://127.0.0.1:${(fn.address() as { port: number }).port}/`;
  const broker = spawn(process.execPath, [process.env.BENCH_BROKER_MAIN ?? 'scripts/stack/broker/main.ts'], {
    env: {
      ...process.env,
      AMQP_URL: amqpUrl,
      BROKER_PORT: '0',
      LOG_LEVEL: 'warn',
      SUBSCRIBERS: `notify=${fnUrl}`,
      // e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile the broker alone
      NODE_OPTIONS: process.env.BENCH_BROKER_NODE_OPTIONS ?? '',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ingress = await announced(broker, 'url', 'broker ingress');
  try {
    const cpu0 = await cpuOf(broker.pid ?? 0);
    const threads0 = await cpuByThread(broker.pid ?? 0);
    const t0 = performance.now();
    const result = await load(ingress, ingressLoad());
    const accepted = Math.round(result.requestsPerSec * SECONDS) - result.non2xx;
    const deadline = Date.now() + 120_000;
    while (received < accepted * 0.999 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const endToEndPerSec = received / ((performance.now() - t0) / 1000);
    const cpuMs = (await cpuOf(broker.pid ?? 0)) - cpu0;
    const threads1 = await cpuByThread(broker.pid ?? 0);
    const cpuUsPerEventByThread = Object.fromEntries(
      Object.entries(threads1)
        .map(([name, ms]) => [
          name,
          Math.round(((ms - (threads0[name] ?? 0)) * 1000) / Math.max(1, received)),
        ])
        .filter(([, us]) => Number(us) > 0),
    );
    return {
      ingressPerSec: result.requestsPerSec,
      endToEndPerSec,
      accepted,
      brokerCpuUsPerEvent: (cpuMs * 1000) / Math.max(1, received),
      ingressP50Ms: result.p50Ms,
      cpuUsPerEventByThread,
    };
  } finally {
    broker.kill('SIGTERM');
    fn.closeAllConnections();
    fn.close();
  }
}

export interface EventsBenchResult {
  rawMessages: number;
  seconds: number;
  baseline: { publishPerSec: number; consumePerSec: number };
  /** Bare node:http publishing with confirms under the ingress's wrk load (absent when skipped). */
  httpFloor?: { publishPerSec: number; cpuUsPerEvent: number; p50Ms: number };
  platform: {
    ingressPerSec: number;
    endToEndPerSec: number;
    accepted: number;
    brokerCpuUsPerEvent: number;
    ingressP50Ms: number;
    cpuUsPerEventByThread: Record<string, number>;
  };
  ratios: {
    ingressVsRawPublish: number;
    endToEndVsRawPublish: number;
    endToEndVsRawConsume: number;
    /** Against the HTTP floor: the same wrk load on bare node:http + raw publish. */
    ingressVsHttpPublish?: number;
    endToEndVsHttpPublish?: number;
    /** The HTTP floor against the issue's floor: what one HTTP request per event costs by itself. */
    httpPublishVsRawPublish?: number;
  };
}

/** One events measurement in a throwaway vhost (`npm run bench events`). */
export async function run(options: { quick: boolean }): Promise<EventsBenchResult> {
  if (options.quick) {
    RAW_MESSAGES = Math.min(RAW_MESSAGES, 5_000);
    SECONDS = Math.min(SECONDS, 3);
  }
  await exec('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  await exec('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  try {
    const baseline = await raw();
    process.stdout.write(
      `  raw amqplib publish (confirms)  ${baseline.publishPerSec.toFixed(0).padStart(7)} msg/s; consume ${baseline.consumePerSec.toFixed(0)} msg/s\n`,
    );
    // BENCH_EVENTS_HTTP_FLOOR=0 skips it (A/B rounds of the broker alone).
    const floor = process.env.BENCH_EVENTS_HTTP_FLOOR === '0' ? undefined : await httpFloor();
    if (floor)
      process.stdout.write(
        `  bare node:http + raw publish    ${floor.publishPerSec.toFixed(0).padStart(7)} ev/s; CPU ${floor.cpuUsPerEvent.toFixed(0)} µs/event; p50 ${floor.p50Ms.toFixed(0)} ms\n`,
      );
    const measured = await platform();
    process.stdout.write(
      `  broker ingress                  ${measured.ingressPerSec.toFixed(0).padStart(7)} ev/s; end to end ${measured.endToEndPerSec.toFixed(0)} ev/s; broker CPU ${measured.brokerCpuUsPerEvent.toFixed(0)} µs/event; ingress p50 ${measured.ingressP50Ms.toFixed(0)} ms\n` +
        `  broker CPU by thread (µs/event)  ${Object.entries(measured.cpuUsPerEventByThread)
          .map(([name, us]) => `${name} ${us}`)
          .join(', ')}\n`,
    );
    return {
      rawMessages: RAW_MESSAGES,
      seconds: SECONDS,
      baseline,
      ...(floor ? { httpFloor: floor } : {}),
      platform: measured,
      ratios: {
        ingressVsRawPublish: measured.ingressPerSec / baseline.publishPerSec,
        endToEndVsRawPublish: measured.endToEndPerSec / baseline.publishPerSec,
        endToEndVsRawConsume: measured.endToEndPerSec / baseline.consumePerSec,
        ...(floor
          ? {
              ingressVsHttpPublish: measured.ingressPerSec / floor.publishPerSec,
              endToEndVsHttpPublish: measured.endToEndPerSec / floor.publishPerSec,
              httpPublishVsRawPublish: floor.publishPerSec / baseline.publishPerSec,
            }
          : {}),
      },
    };
  } finally {
    await exec('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
  }
}

if (import.meta.main) {
  const report = {
    date: new Date().toISOString(),
    ...(await run({ quick: process.env.BENCH_QUICK === '1' })),
  };
  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/events-${Date.now()}.json`, import.meta.url);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\nwrote ${file.pathname}\n`);
  process.exit(0);
}
