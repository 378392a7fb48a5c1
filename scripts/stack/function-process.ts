import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from '../servers/harness.ts';

const root = new URL('../..', import.meta.url).pathname;

/** A function (or the broker) in a process of its own, as Knative runs a pod: it can be killed and replaced. */
export interface FunctionProcess {
  readonly name: string;
  /** Its fixed port: a replacement listens on the same one (the Service's address does not change). */
  readonly port: number;
  readonly url: string;
  /** pid of the current process (changes on restart). */
  pid(): number;
  /** `kill -9` (SIGKILL): no shutdown hook runs, in-flight requests and deliveries are cut. Waits for the exit. */
  kill9(): Promise<void>;
  /** Start a replacement (same command, env and port) and wait until it answers its readiness probe. */
  restart(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** Resident set size (KiB) of the current process, 0 when it is not running. */
  rssKiB(): Promise<number>;
  /** The last lines it wrote on stderr (for failure messages). */
  log(): string;
}

export interface SpawnOptions {
  /** The command after `node` (default: the lean host serving functions/<name>/index.ts, target <name>). */
  readonly argv?: readonly string[];
  /** Path answering 2xx when it is ready (default /healthz). */
  readonly readyPath?: string;
  readonly deadlineMs?: number;
  /** Port env variable name (default PORT). */
  readonly portVariable?: string;
  /** Pin it to this core (taskset), for benchmarks. */
  readonly cpu?: number;
  /** Listen on this port (default: a free one). */
  readonly port?: number;
  /** Ready on any HTTP answer, not only 2xx (the broker's ingress has no probe route). */
  readonly anyStatus?: boolean;
}

/**
 * Start `functions/<name>/index.ts` on the lean host (functions/lib/host/main.ts, as production images and
 * `npm start` do) in a child process with `env`, on a free port kept across restarts; resolves once the
 * readiness probe answers 2xx (deadline 30 s by default; the error carries its stderr).
 * @example const notify = await spawnFunction('notify', { DATABASE_URL, MONGO_URL, … }); await notify.kill9();
 */
export async function spawnFunction(
  name: string,
  env: Record<string, string>,
  options: SpawnOptions = {},
): Promise<FunctionProcess> {
  const port = options.port ?? (await freePort());
  const argv = options.argv ?? [
    join(root, 'functions/lib/host/main.ts'),
    `--source=${join(root, 'functions', name, 'index.ts')}`,
    `--target=${name}`,
    `--port=${port}`,
    '--host=127.0.0.1',
  ];
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let stderr = '';
  const launch = async () => {
    const command = [process.execPath, ...argv];
    const full = options.cpu === undefined ? command : ['taskset', '-c', String(options.cpu), ...command];
    const proc = spawn(full[0] ?? 'node', full.slice(1), {
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        ...env,
        K_SERVICE: name,
        [options.portVariable ?? 'PORT']: String(port),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4000);
    });
    const deadline = performance.now() + (options.deadlineMs ?? 30_000);
    for (;;) {
      if (proc.exitCode !== null || proc.signalCode !== null)
        throw new Error(
          `${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${stderr}`,
        );
      const ok = await fetch(url + (options.readyPath ?? '/healthz'))
        .then(async (res) => {
          await res.arrayBuffer();
          return options.anyStatus === true || res.status < 300;
        })
        .catch(() => false);
      if (ok) return;
      if (performance.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`${name} did not become ready on ${url} within the deadline:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const exited = (proc: ChildProcess) =>
    proc.exitCode !== null || proc.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await launch();
  return {
    name,
    port,
    url,
    pid: () => child?.pid ?? 0,
    async kill9() {
      if (!child) return;
      const done = exited(child);
      child.kill('SIGKILL');
      await done;
    },
    restart: launch,
    async stop() {
      if (!child) return;
      const proc = child;
      const done = exited(proc);
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
      await done;
      clearTimeout(timer);
    },
    async rssKiB() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return 0;
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8').catch(() => '');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    },
    log: () => stderr,
  };
}

/** The broker data plane (scripts/stack/broker/main.ts) in its own process: knative/base's Triggers on `amqpUrl`. */
export async function spawnBroker(
  amqpUrl: string,
  subscribers: Record<string, string>,
  options: { cpu?: number; deliveryTimeoutMs?: number; port?: number } = {},
): Promise<FunctionProcess> {
  return spawnFunction(
    'broker',
    {
      AMQP_URL: amqpUrl,
      SUBSCRIBERS: Object.entries(subscribers)
        .map(([service, url]) => `${service}=${url}`)
        .join(','),
      DELIVERY_TIMEOUT_MS: String(options.deliveryTimeoutMs ?? 10_000),
    },
    {
      argv: [join(root, 'scripts/stack/broker/main.ts')],
      portVariable: 'BROKER_PORT',
      readyPath: '/',
      anyStatus: true,
      ...(options.cpu === undefined ? {} : { cpu: options.cpu }),
      ...(options.port === undefined ? {} : { port: options.port }),
    },
  );
}
