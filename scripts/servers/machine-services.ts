import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { connect as amqpConnect } from 'amqplib';
import { Redis } from 'ioredis';
import pg from 'pg';

const run = promisify(execFile);

/**
 * PostgreSQL, Redis and RabbitMQ run on the machine already (their default ports). We never start a
 * second copy: we try the machine's own start command once if one is down, then give each test run
 * its own database, key prefix and vhost, and remove them afterwards.
 */
export interface MachineServices {
  env: Record<string, string>;
  stop(): Promise<void>;
}

const PG_ADMIN = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const AMQP_BASE = process.env.AMQP_BASE_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

async function retryOnce<T>(
  what: string,
  attempt: () => Promise<T>,
  restart: () => Promise<unknown>,
): Promise<T> {
  try {
    return await attempt();
  } catch (first) {
    process.stdout.write(
      `[harness] ${what} not answering (${(first as Error).message}); trying the machine's start command\n`,
    );
    await restart().catch(() => undefined);
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        if (Date.now() > deadline)
          throw new Error(`${what} is not running and could not be started: ${(error as Error).message}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  }
}

async function pgAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN, connectionTimeoutMillis: 2_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

export async function startMachineServices(): Promise<MachineServices> {
  const started = performance.now();
  const runId = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
  const database = `isekai_test_${runId}`;
  const vhost = `isekai-test-${runId}`;
  const keyPrefix = `isekai:test:${runId}:`;

  await retryOnce(
    'postgresql',
    () => pgAdmin((c) => c.query(`create database ${database}`)),
    async () => {
      const { stdout } = await run('ls', ['/etc/postgresql']);
      await run('pg_ctlcluster', [
        '--skip-systemctl-redirect',
        stdout.trim().split('\n')[0] ?? '15',
        'main',
        'start',
      ]);
    },
  );
  const redis = await retryOnce(
    'redis',
    async () => {
      const r = new Redis(REDIS_URL, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
      });
      await r.connect();
      await r.ping();
      return r;
    },
    () =>
      run('redis-server', [
        '--daemonize',
        'yes',
        '--bind',
        '127.0.0.1',
        '-::1',
        '--port',
        '6379',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        '/var/lib/redis',
        '--logfile',
        '/var/log/redis/ci.log',
      ]),
  );
  await retryOnce(
    'rabbitmq',
    async () => (await amqpConnect(AMQP_BASE)).close(),
    () => run('rabbitmq-server', ['-detached']),
  );
  await run('rabbitmqctl', ['-q', 'add_vhost', vhost]);
  await run('rabbitmqctl', ['-q', 'set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);

  const dbUrl = new URL(PG_ADMIN);
  dbUrl.pathname = `/${database}`;
  const env = {
    DATABASE_URL: dbUrl.href,
    REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    AMQP_URL: `${AMQP_BASE}/${encodeURIComponent(vhost)}`,
    RABBITMQ_VHOST: vhost,
    TEST_RUN_ID: runId,
  };
  process.stdout.write(
    `[harness] postgresql, redis, rabbitmq (machine services) ready in ${Math.round(performance.now() - started)} ms: database ${database}, vhost ${vhost}, key prefix ${keyPrefix}\n`,
  );

  return {
    env,
    async stop() {
      await pgAdmin((c) => c.query(`drop database if exists ${database} with (force)`)).catch(
        () => undefined,
      );
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
      redis.disconnect();
      await run('rabbitmqctl', ['-q', 'delete_vhost', vhost]).catch(() => undefined);
    },
  };
}
