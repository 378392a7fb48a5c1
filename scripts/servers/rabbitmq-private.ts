import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/rabbitmq/bin';

/** A RabbitMQ node of one test file's own: it may stop and start it without touching the machine's. */
export interface PrivateRabbit {
  /** amqp://guest:guest@127.0.0.1:<its port> */
  readonly amqpUrl: string;
  /** `rabbitmqctl stop_app` on this node only (the broker is down; the Erlang node stays). */
  stopApp(): Promise<void>;
  /** `rabbitmqctl start_app` on this node, waiting until it accepts connections. */
  startApp(): Promise<void>;
  /** Halt the node and remove its data directory. */
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/**
 * Start a private RabbitMQ node (its own node name, AMQP and distribution ports, cookie, data directory,
 * no plugins) from the machine's RabbitMQ install; ~10–30 s on this machine. Suites that restart RabbitMQ
 * use it, so the machine's shared node (other suites, other runs) never sees the outage.
 */
export async function startPrivateRabbit(label: string): Promise<PrivateRabbit> {
  const dir = await mkdtemp(join(tmpdir(), `isekai-rabbit-${label}-`));
  const [amqpPort, distPort] = [await freePort(), await freePort()];
  const node = `isekai-${label}-${process.pid}@localhost`;
  const home = join(dir, 'home');
  await mkdir(home);
  await writeFile(join(home, '.erlang.cookie'), `ISEKAI${process.pid}${Date.now()}`, { mode: 0o400 });
  await writeFile(
    join(dir, 'rabbitmq.conf'),
    `listeners.tcp.local = 127.0.0.1:${amqpPort}\nloopback_users = none\n`,
  );
  await writeFile(join(dir, 'enabled_plugins'), '[].\n');
  const env = {
    ...process.env,
    HOME: home,
    RABBITMQ_NODENAME: node,
    RABBITMQ_NODE_PORT: String(amqpPort),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    // One scheduler and no busy-waiting: a second Erlang VM must not take the shared cores from the suite.
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '+S 1:1 +sbwt none +sbwtdcpu none +sbwtdio none',
  };
  const ctl = (...args: string[]) =>
    run(`${BIN}/rabbitmqctl`, ['-n', node, ...args], { env, timeout: 120_000 });
  const started = performance.now();
  await run(`${BIN}/rabbitmq-server`, ['-detached'], { env });
  await ctl('wait', join(dir, 'pid'), '--timeout', '120');
  process.stdout.write(
    `[harness] private rabbitmq ${node} on 127.0.0.1:${amqpPort} in ${Math.round(performance.now() - started)} ms\n`,
  );
  return {
    amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
    stopApp: async () => {
      await ctl('-q', 'stop_app');
    },
    startApp: async () => {
      await ctl('-q', 'start_app');
      await ctl('-q', 'await_startup', '--timeout', '60');
    },
    stop: async () => {
      await ctl('-q', 'stop').catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
