import { rmSync } from 'node:fs';
import path from 'node:path';
import {
  announce,
  cleanEnv,
  clearStale,
  dataDir,
  elapsed,
  isAlive,
  isRunning,
  processId,
  repoRoot,
  runForOutput,
  startDetached,
  stopPid,
  tail,
  waitUntil,
} from './harness.ts';
import { acquireShared, type ServerProcess, sharing } from './shared-server.ts';
import type { StartedServer } from './types.ts';

const PREPARE = path.join(repoRoot, 'scripts/servers/prepare-java.sh');

/** One Java test server started from a jar that `prepare-java.sh <prepare>` builds or fetches. */
export interface JavaServer {
  /** Server name: data dir `.tmp/<name>-<port>/`, log lines. */
  readonly name: string;
  /** Where it answers (for the log line), e.g. `mongodb://127.0.0.1:47017`. */
  readonly url: string;
  /** Its port: with `name`, what makes it one shared server on this machine (scripts/servers/shared-server.ts). */
  readonly port: number;
  /** Environment it gives functions and tests, e.g. `{ MONGO_URL }`. */
  readonly env: Record<string, string>;
  /** `prepare-java.sh` target; the script prints the jar path. */
  readonly prepare: string;
  /** Text in the java command line that marks our process (a recycled pid is never stopped). */
  readonly marker: string;
  /** True when the server answers its protocol (not merely an open port). */
  answering(): Promise<boolean>;
  /** JVM options and program arguments around `-jar <jar>`. */
  args(jar: string): string[];
  /** Extra environment of the JVM (on top of `cleanEnv`: PATH, HOME, JAVA_HOME, LANG, TZ). */
  readonly javaEnv?: Record<string, string>;
  /** How long the first answer may take (ms) and how often to ask (ms). */
  readonly deadlineMs: number;
  readonly intervalMs: number;
  /** Signal `stop()` sends (default SIGTERM). */
  readonly stopSignal?: NodeJS.Signals;
}

/**
 * The start sequence of the Java test servers, shared on this machine through `acquireShared`: join the
 * users of the one already answering on the port (`reused: true`); else stop a stale one of ours left by an
 * earlier run, prepare the jar, start java detached (pid file and log under `.tmp/<name>-<port>/`), poll until it
 * answers — failing at once with the log's tail when java exits early, or at `deadlineMs`. `stop()` gives
 * the lease back: the server stops when its last user does, whoever started it.
 * @example export const start = () => startJavaServer({ name: 'mongo-wire', url, port, env, prepare: 'mongo-wire',
 *   marker: 'mongo-wire-', answering, args: (jar) => ['-jar', jar], deadlineMs: 30_000, intervalMs: 25 });
 */
export async function startJavaServer(spec: JavaServer): Promise<StartedServer> {
  const { name, url, env } = spec;
  const t0 = performance.now();
  const lease = await acquireShared({
    name,
    port: spec.port,
    answering: spec.answering,
    // The first start may build or download the jar (prepare-java.sh takes a flock of its own).
    startDeadlineMs: spec.deadlineMs + 120_000,
    start: (record) => launch(spec, record),
    stop: (server) => stopJava(server, spec.stopSignal),
  });
  const ms = elapsed(t0);
  announce(name, lease.reused ? 'reused' : 'started', ms, `${url}${sharing(lease)}`);
  return { name, env, reused: lease.reused, ms, stop: async () => void (await lease.release()) };
}

async function launch(spec: JavaServer, record: (server: ServerProcess) => void): Promise<ServerProcess> {
  const { name, url } = spec;
  // One per port: a private server (MONGO_WIRE_PORT …) never touches the default one's pid file.
  const dir = dataDir(`${name}-${spec.port}`);
  const pidFile = path.join(dir, 'server.pid');
  const logFile = path.join(dir, 'server.log');
  await clearStale(name, dir, pidFile, spec.marker);
  const jar = await runForOutput('bash', [PREPARE, spec.prepare]);
  const child = startDetached('java', spec.args(jar), {
    cwd: dir,
    env: cleanEnv(spec.javaEnv ?? {}),
    logFile,
    pidFile,
  });
  const pid = child.pid as number;
  try {
    const server = { ...processId(pid), dir };
    record(server);
    await waitUntil(`${name} on ${url}`, () => spec.answering(), {
      deadlineMs: spec.deadlineMs,
      intervalMs: spec.intervalMs,
      gaveUp: () => (isAlive(pid) ? undefined : `java exited early:\n${tail(logFile)}`),
    });
    return server;
  } catch (error) {
    await stopPid(pid);
    throw error;
  }
}

/** Stops the java process `server` names (when it is still that process) and removes its data directory. */
async function stopJava(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (isRunning(server)) await stopPid(server.pid, 10_000, signal);
  rmSync(server.dir, { recursive: true, force: true });
}
