import path from 'node:path';
import {
  announce,
  cleanEnv,
  clearStale,
  dataDir,
  elapsed,
  isAlive,
  repoRoot,
  runForOutput,
  startDetached,
  stopFromPidFile,
  stopPid,
  tail,
  waitUntil,
} from './harness.ts';
import type { StartedServer } from './types.ts';

const PREPARE = path.join(repoRoot, 'scripts/servers/prepare-java.sh');

/** One Java test server started from a jar that `prepare-java.sh <prepare>` builds or fetches. */
export interface JavaServer {
  /** Server name: data dir `.tmp/<name>/`, log lines. */
  readonly name: string;
  /** Where it answers (for the log line), e.g. `mongodb://127.0.0.1:47017`. */
  readonly url: string;
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
 * The start sequence of the Java test servers: reuse one already answering (`reused: true`, `stop()`
 * does nothing); else stop a stale one of ours left by an earlier run, prepare the jar, start java
 * detached (pid file and log under `.tmp/<name>/`), poll until it answers — failing at once with the
 * log's tail when java exits early, or at `deadlineMs` — and return a `stop()` that stops only it.
 * @example export const start = () => startJavaServer({ name: 'mongo-wire', url, env, prepare: 'mongo-wire',
 *   marker: 'mongo-wire-', answering, args: (jar) => ['-jar', jar], deadlineMs: 30_000, intervalMs: 25 });
 */
export async function startJavaServer(spec: JavaServer): Promise<StartedServer> {
  const { name, url, env } = spec;
  const t0 = performance.now();
  if (await spec.answering()) {
    const ms = elapsed(t0);
    announce(name, 'reused', ms, url);
    return { name, env, reused: true, ms, stop: async () => {} };
  }
  const dir = dataDir(name);
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
    await waitUntil(`${name} on ${url}`, () => spec.answering(), {
      deadlineMs: spec.deadlineMs,
      intervalMs: spec.intervalMs,
      gaveUp: () => (isAlive(pid) ? undefined : `java exited early:\n${tail(logFile)}`),
    });
  } catch (error) {
    await stopPid(pid);
    throw error;
  }
  const ms = elapsed(t0);
  announce(name, 'started', ms, url);
  return {
    name,
    env,
    reused: false,
    ms,
    async stop() {
      await stopFromPidFile(dir, pidFile, spec.marker, spec.stopSignal);
    },
  };
}
