import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers shared by the server modules: paths, polling with a deadline, pid-file process control. */

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** `<repo>/.tmp/<name>`: git-ignored data directory of one server. */
export function dataDir(name: string): string {
  return path.join(repoRoot, '.tmp', name);
}

/** A TCP port from the environment variable `name`, else `fallback`; throws naming the variable when bad. */
export function portFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new Error(`${name} must be a TCP port (1–65535), got "${raw}"`);
  return port;
}

export function elapsed(t0: number): number {
  return Math.round(performance.now() - t0);
}

export function announce(name: string, action: 'started' | 'reused', ms: number, where: string): void {
  console.log(`[harness] ${name} ${action} in ${ms} ms (${where})`);
}

/** Polls `probe` until it is true; fails at the deadline or as soon as `gaveUp()` returns a reason. */
export async function waitUntil(
  what: string,
  probe: () => Promise<boolean>,
  options: { deadlineMs: number; intervalMs?: number; gaveUp?: () => string | undefined },
): Promise<void> {
  const end = performance.now() + options.deadlineMs;
  for (;;) {
    if (await probe()) return;
    const reason = options.gaveUp?.();
    if (reason) throw new Error(`${what}: ${reason}`);
    if (performance.now() > end) throw new Error(`${what}: not ready within ${options.deadlineMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 50));
  }
}

/** GET `url`; the body when the status is 2xx, else undefined (also on connection errors). */
export async function httpGetText(url: string, timeoutMs = 1000): Promise<string | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await response.text();
    return response.ok ? body : undefined;
  } catch {
    return undefined;
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function tcpOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Runs a script to completion with stdout+stderr appended to `logFile` (files, not pipes, so
 * daemons it leaves behind cannot keep us waiting). Rejects with the log's tail on failure. */
export function runToLog(
  command: string,
  args: string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
) {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  return new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, env, stdio: ['ignore', fd, fd] });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code ?? signal}\n${tail(logFile)}`));
    });
  }).finally(() => closeSync(fd));
}

/** Runs a short command and returns its last stdout line; stderr goes to ours (progress notes). */
export function runForOutput(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && last) resolve(last);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${out.slice(-2000)}`));
    });
  });
}

export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return `(no ${file})`;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), or undefined when
 * there is no such process: with the pid it names one process for good, as a pid alone can be recycled. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): field 3 is index 0.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** One process for good: its pid and its start time (`processStart`). */
export interface ProcessId {
  readonly pid: number;
  readonly since: string;
}

/** The process `id` names: the pid of a live, non-zombie process, started when `id.since` says. */
export function isRunning(id: ProcessId): boolean {
  return processStart(id.pid) === id.since && isAlive(id.pid);
}

/** `{ pid, since }` of a live process (throws when it is gone already). */
export function processId(pid: number): ProcessId {
  const since = processStart(pid);
  if (since === undefined) throw new Error(`process ${pid} is gone`);
  return { pid, since };
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

/** Starts a long-running server in its own process group, output to `logFile`, pid to `pidFile`. */
export function startDetached(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string; pidFile: string },
): ChildProcess {
  mkdirSync(options.cwd, { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', fd, fd],
      detached: true,
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    writeFileSync(options.pidFile, `${child.pid}\n`);
    return child;
  } finally {
    closeSync(fd);
  }
}

/** `signal` (SIGTERM), wait up to `graceMs`, then SIGKILL. Resolves once the process is gone. */
export async function stopPid(
  pid: number,
  graceMs = 10_000,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<void> {
  if (!isAlive(pid)) return;
  process.kill(pid, signal);
  const end = performance.now() + graceMs;
  while (isAlive(pid) && performance.now() < end) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) {
    console.warn(`[harness] pid ${pid} ignored SIGTERM for ${graceMs} ms; SIGKILL`);
    process.kill(pid, 'SIGKILL');
    while (isAlive(pid)) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Stops the process named by `pidFile` (only when it is alive and its command line contains
 * `marker`, so a recycled pid is never hit) with `signal`, and removes the server's data dir `dir`.
 * Returns the pid it stopped, if any. */
export async function stopFromPidFile(
  dir: string,
  pidFile: string,
  marker: string,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | undefined> {
  let stopped: number | undefined;
  if (existsSync(pidFile)) {
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8'), 10);
    if (Number.isInteger(pid) && pid > 1 && isAlive(pid) && commandLine(pid).includes(marker)) {
      await stopPid(pid, 10_000, signal);
      stopped = pid;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  return stopped;
}

/** Before a start: a server of ours left by an earlier run that no longer answers is stopped. */
export async function clearStale(name: string, dir: string, pidFile: string, marker: string): Promise<void> {
  const pid = await stopFromPidFile(dir, pidFile, marker);
  if (pid !== undefined)
    console.warn(`[harness] stopped a stale ${name} (pid ${pid}) left by an earlier run`);
}

/** Minimal environment for a child JVM: no inherited settings that could switch on features. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const keep = ['PATH', 'HOME', 'JAVA_HOME', 'LANG', 'TZ'];
  const env: NodeJS.ProcessEnv = {};
  for (const key of keep) if (process.env[key] !== undefined) env[key] = process.env[key];
  return { ...env, ...extra };
}
