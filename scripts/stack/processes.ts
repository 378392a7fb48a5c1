import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  /** The last lines (≤ 40) the process wrote to stdout or stderr, oldest first. */
  recentLines(): readonly string[];
  stop(): Promise<void>;
}

/** Why a function did not become healthy: its name, the last lines of its log and the likely cause. */
export class StartFailure extends Error {
  override readonly name = 'StartFailure';
  readonly functionName: string;
  readonly reason: string;
  readonly logTail: readonly string[];
  constructor(functionName: string, reason: string, logTail: readonly string[]) {
    super(`${functionName}: ${reason}`);
    this.functionName = functionName;
    this.reason = reason;
    this.logTail = logTail;
  }

  /** A multi-line report for the terminal. */
  describe(): string {
    const tail = this.logTail.length === 0 ? ['  (it wrote nothing)'] : this.logTail.map((l) => `  │ ${l}`);
    return [
      `${this.functionName} did not start: ${this.reason}`,
      `Last lines of ${this.functionName}'s log:`,
      ...tail,
      `Likely cause: ${likelyCause(this.reason, this.logTail)}`,
    ].join('\n');
  }
}

/** Reads the usual suspects off the reason and the log (first match wins). */
export function likelyCause(reason: string, log: readonly string[]): string {
  const text = `${reason}\n${log.join('\n')}`;
  if (/EADDRINUSE/.test(text))
    return 'its port is taken — another `npm start` still running? Stop it, or set ISEKAI_PORT_BASE to another base port.';
  if (/exited with code 78/.test(text))
    return 'a bad or missing setting (exit 78): the JSON line above names it.';
  if (/ECONNREFUSED|ENOTFOUND|ETIMEDOUT/.test(text))
    return 'a service it needs does not answer (the address is in the log above); check the service lines printed before.';
  if (/Cannot find (module|package)|ERR_MODULE_NOT_FOUND/.test(text))
    return 'dependencies are missing or stale: run `npm ci`.';
  if (/did not become healthy/.test(reason))
    return 'a slow or busy machine: wait longer with ISEKAI_START_TIMEOUT_S=300 npm start.';
  return 'see the log lines above.';
}

const COLORS = [36, 35, 33, 32, 34, 91, 92, 93, 94, 95, 96];

/** Start a child process whose output lines are prefixed with its name (colored on a TTY). */
export function startProcess(
  name: string,
  command: string[],
  env: Record<string, string>,
  index: number,
): Proc {
  const child = spawn(command[0] ?? 'node', command.slice(1), {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const color = COLORS[index % COLORS.length] ?? 36;
  const recent: string[] = [];
  const label = process.stdout.isTTY ? `\x1b[${color}m${name.padEnd(15)}\x1b[0m` : name.padEnd(15);
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      recent.push(line);
      if (recent.length > 40) recent.shift();
      process.stdout.write(`${label} │ ${line}\n`);
    });
  }
  return {
    name,
    child,
    recentLines: () => [...recent],
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/**
 * Poll `url` until it answers 2xx (any answer below 500 with `anyAnswer`). Resolves with the milliseconds
 * it took; rejects with a {@link StartFailure} naming the process when it exits or the deadline passes.
 */
export async function waitHealthy(
  url: string,
  proc: Proc | undefined,
  deadlineMs = 30_000,
  anyAnswer = false,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (proc && proc.child.exitCode !== null) {
      await new Promise((r) => setTimeout(r, 100)); // let its last output lines arrive
      throw new StartFailure(proc.name, `exited with code ${proc.child.exitCode}`, proc.recentLines());
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.ok || (anyAnswer && res.status < 500)) return Math.round(performance.now() - started);
    } catch {
      // not up yet
    }
    if (performance.now() - started > deadlineMs) {
      const reason = `${url} did not become healthy in ${Math.round(deadlineMs / 1000)} s (ISEKAI_START_TIMEOUT_S)`;
      if (proc) throw new StartFailure(proc.name, reason, proc.recentLines());
      throw new Error(reason);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
