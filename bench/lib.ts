import { type ChildProcess, spawn } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../scripts/servers/harness.ts';

export { freePort };

/** Whether `taskset` exists, so servers and load can sit on different cores. */
export const hasTaskset = await new Promise<boolean>((resolve) => {
  const p = spawn('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  p.on('error', () => resolve(false));
  p.on('exit', (code) => resolve(code === 0));
});

export interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  /** ms from spawn to the first 200 on `readyPath`. */
  readonly startMs: number;
  /** Resident set size (KiB) right after the first 200. */
  readonly rssKiB: number;
  /**
   * CPU time (ms, user + system) the process used up to its first 200, to the nanosecond where the kernel
   * keeps schedstats ({@link startCpuOf}): robust on a loaded machine, unlike the wall time.
   */
  readonly cpuMs: number;
  stop(): Promise<void>;
}

/** Spawn a server (pinned to core `cpu` when possible) and wait for its first 200. */
export async function startServer(
  command: string[],
  env: Record<string, string>,
  options: { readyPath?: string; cpu?: number; deadlineMs?: number } = {},
): Promise<Started> {
  const port = await freePort();
  const argv =
    hasTaskset && options.cpu !== undefined ? ['taskset', '-c', String(options.cpu), ...command] : command;
  const t0 = performance.now();
  const child = spawn(argv[0] ?? 'node', argv.slice(1), {
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = t0 + (options.deadlineMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited with ${child.exitCode}`);
    try {
      const res = await fetch(url + (options.readyPath ?? '/'));
      await res.arrayBuffer();
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${command.join(' ')} did not answer 200 within the deadline`);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const startMs = performance.now() - t0;
  const rssKiB = await rssOf(child.pid ?? 0);
  const cpuMs = await startCpuOf(child.pid ?? 0);
  return {
    child,
    url,
    startMs,
    rssKiB,
    cpuMs,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 3_000).unref();
      }),
  };
}

/**
 * Make a server's compile cache the way scripts/images.sh makes an image's: one start that stops at its
 * configuration check (a bad setting, `TRACE_SAMPLE_RATE=2`; in the image, the missing ones) and writes the
 * cache as it exits. A start that served first would cache more of the code than an image holds.
 */
export function makeCompileCache(command: string[], cacheDir: string): Promise<number | null> {
  const child = spawn(command[0] ?? 'node', command.slice(1), {
    env: {
      ...process.env,
      NODE_COMPILE_CACHE: cacheDir,
      PORT: '0',
      HOST: '127.0.0.1',
      TRACE_SAMPLE_RATE: '2',
    },
    stdio: 'ignore',
  });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** CPU time (ms, user + system) of a process so far, from /proc/<pid>/stat (clock ticks of 10 ms). */
export async function cpuOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
}

/**
 * CPU time (ms, fractional) a process has run so far: the sum of its threads' run time in nanoseconds
 * (`/proc/<pid>/task/<tid>/schedstat`, first field: the scheduler's own account, user + system), or
 * {@link cpuOf}'s 10 ms ticks where the kernel has no schedstats. For a process that just started (a cold
 * start): threads that already ended are not counted, and Node ends none before it serves. A cold start
 * is 15–30 ticks, so ticks alone moved a median by ±5 % (bench/README.md, "Cold start").
 */
export async function startCpuOf(pid: number): Promise<number> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  let ns = 0;
  for (const tid of tasks) {
    const line = await readFile(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').catch(() => '');
    const run = Number(line.split(' ')[0]);
    if (!line || !Number.isFinite(run)) return cpuOf(pid);
    ns += run;
  }
  return tasks.length > 0 ? ns / 1e6 : cpuOf(pid);
}

/**
 * CPU time (ms, user + system) of a process's threads so far, summed by thread name (`/proc/<pid>/task/*`:
 * Node names its main thread `MainThread` and a worker thread by its `name` option; GC helpers are
 * `V8Worker`). Threads that already ended are missing: measure before and after a run and subtract.
 */
export async function cpuByThread(pid: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  for (const tid of tasks) {
    const stat = await readFile(`/proc/${pid}/task/${tid}/stat`, 'utf8').catch(() => '');
    if (!stat) continue;
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out[name] = (out[name] ?? 0) + (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) * 10;
  }
  return out;
}

/** VmRSS of a process and, when it is a `taskset` wrapper that exec'd, of itself (same pid). */
export async function rssOf(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

export interface LoadResult {
  readonly requestsPerSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
}

/**
 * Drive `url` with autocannon in a child process pinned to core `cpu` (the server sits on the other).
 */
export async function load(
  url: string,
  options: {
    seconds: number;
    connections: number;
    cpu?: number;
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    /** TLS server name (SNI) when the URL's host is an address. */
    servername?: string;
    /** Drive requests with a body through wrk too (a Lua script sets method and body); default GET only. */
    wrkWithBody?: boolean;
  },
): Promise<LoadResult> {
  if (hasWrk && options.wrkWithBody === true && options.servername === undefined)
    return loadWithWrk(url, options);
  // wrk (C) drives far more load per core than autocannon (JS): use it for plain GETs when installed,
  // so the load generator is not the ceiling of what we measure.
  if (hasWrk && (options.method ?? 'GET') === 'GET' && options.body === undefined) {
    // wrk sends the URL's host as SNI: a TLS server name is usable when it resolves to the address.
    if (options.servername === undefined) return loadWithWrk(url, options);
    const named = await viaServerName(url, options.servername);
    if (named) return loadWithWrk(named, options);
  }
  const script = new URL('./load-worker.ts', import.meta.url).pathname;
  const argv = [process.execPath, script, JSON.stringify({ url, ...options })];
  const full =
    hasTaskset && options.cpu !== undefined ? ['taskset', '-c', String(options.cpu), ...argv] : argv;
  const child = spawn(full[0] ?? 'node', full.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`load worker failed (${code})`);
  return JSON.parse(out) as LoadResult;
}

/** `url` with its address replaced by `servername`, when that name resolves to the same address (/etc/hosts). */
async function viaServerName(url: string, servername: string): Promise<string | undefined> {
  const parsed = new URL(url);
  const found = await lookup(servername, { all: true }).catch(() => []);
  if (!found.some((a) => a.address === parsed.hostname)) return undefined;
  parsed.hostname = servername;
  return parsed.href;
}

/** Whether wrk is installed (scripts/install-deps.sh installs it). */
export const hasWrk = await new Promise<boolean>((resolve) => {
  const p = spawn('wrk', ['--version'], { stdio: 'ignore' });
  p.on('error', () => resolve(false));
  p.on('exit', () => resolve(true));
});

async function loadWithWrk(
  url: string,
  options: {
    seconds: number;
    connections: number;
    cpu?: number;
    headers?: Record<string, string>;
    method?: string;
    body?: string;
  },
): Promise<LoadResult> {
  // Method and body go through a Lua script (wrk has no flag for them); the body in a long bracket.
  let script: string[] = [];
  if ((options.method ?? 'GET') !== 'GET' || options.body !== undefined) {
    const file = join(tmpdir(), `wrk-${process.pid}-${Date.now().toString(36)}.lua`);
    const level = '='.repeat(8);
    writeFileSync(
      file,
      `wrk.method = "${options.method ?? 'POST'}"\nwrk.body = [${level}[${options.body ?? ''}]${level}]\n`,
    );
    script = ['-s', file];
  }
  // wrk adds `Host` unless given under exactly that spelling (nginx refuses two Host headers).
  const headerArgs = Object.entries(options.headers ?? {}).flatMap(([k, v]) => [
    '-H',
    `${k.toLowerCase() === 'host' ? 'Host' : k}: ${v}`,
  ]);
  const argv = [
    'wrk',
    '-t1',
    `-c${options.connections}`,
    `-d${options.seconds}s`,
    '--latency',
    ...script,
    ...headerArgs,
    url,
  ];
  const full =
    hasTaskset && options.cpu !== undefined ? ['taskset', '-c', String(options.cpu), ...argv] : argv;
  const child = spawn(full[0] ?? 'wrk', full.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    out += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`wrk failed (${code})`);
  const ms = (label: string) => {
    const m = new RegExp(`${label}\\s+([\\d.]+)(us|ms|s)`).exec(out);
    if (!m) return Number.NaN;
    const value = Number(m[1]);
    return m[2] === 'us' ? value / 1000 : m[2] === 's' ? value * 1000 : value;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requestsPerSec: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    p50Ms: ms('50%'),
    p99Ms: ms('99%'),
    non2xx,
    errors: errors ? errors.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};

/** The p-quantile (0–1) of `values`, linear between neighbours. */
export const quantile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (sorted.length - 1) * p;
  const lo = Math.floor(at);
  return (sorted[lo] ?? Number.NaN) + ((sorted[lo + 1] ?? sorted[lo] ?? 0) - (sorted[lo] ?? 0)) * (at - lo);
};

/** What `runWrk` reports: requests completed and requests per second. */
export interface WrkResult {
  requests: number;
  rps: number;
}

/**
 * wrk with `args` pinned to core 1 (`taskset -c 1`), for the CPU-per-request A/B tools (host-cpu,
 * rating-cpu, edge-cpu). Rejects when wrk fails or any answer was not 2xx/3xx.
 */
export function runWrk(args: string[]): Promise<WrkResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('taskset', ['-c', '1', 'wrk', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.on('exit', (code) => {
      const failed = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
      if (code !== 0 || failed > 0) return reject(new Error(`wrk: ${out}`));
      resolve({
        requests: Number(/(\d+) requests in/.exec(out)?.[1]),
        rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
      });
    });
  });
}
