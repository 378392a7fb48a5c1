import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
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
  const label = process.stdout.isTTY ? `\x1b[${color}m${name.padEnd(15)}\x1b[0m` : name.padEnd(15);
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${label} │ ${line}\n`));
  }
  return {
    name,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
      }),
  };
}

/** Poll `url` until it answers 2xx, the process dies, or the deadline passes. */
export async function waitHealthy(
  url: string,
  proc: Proc | undefined,
  deadlineMs = 30_000,
  anyAnswer = false,
): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (proc && proc.child.exitCode !== null)
      throw new Error(`${proc.name} exited with code ${proc.child.exitCode}`);
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok || (anyAnswer && res.status < 500)) return Math.round(performance.now() - started);
    } catch {
      // not up yet
    }
    if (performance.now() - started > deadlineMs)
      throw new Error(`${url} did not become healthy in ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
