import { existsSync } from 'node:fs';
import path from 'node:path';
import {
  announce,
  cleanEnv,
  clearStale,
  dataDir,
  elapsed,
  httpGetText,
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

/**
 * Zipkin server (io.zipkin:zipkin-server exec jar from Maven Central, extracted, with an AppCDS
 * archive, prepared once by scripts/servers/prepare-java.sh into ~/.cache/isekai/zipkin), in-memory
 * storage, HTTP collector and API on one port.
 */

const NAME = 'zipkin';
export const ZIPKIN_PORT = 49411;
const URL = `http://127.0.0.1:${ZIPKIN_PORT}`;
const PREPARE = path.join(repoRoot, 'scripts/servers/prepare-java.sh');
const MARKER = 'zipkin-server-';

async function answering(): Promise<boolean> {
  const body = await httpGetText(`${URL}/health`);
  return body?.includes('"UP"') ?? false;
}

export async function start(): Promise<StartedServer> {
  const t0 = performance.now();
  const env = { ZIPKIN_URL: URL };
  if (await answering()) {
    const ms = elapsed(t0);
    announce(NAME, 'reused', ms, URL);
    return { name: NAME, env, reused: true, ms, stop: async () => {} };
  }
  const dir = dataDir(NAME);
  const pidFile = path.join(dir, 'server.pid');
  const logFile = path.join(dir, 'server.log');
  await clearStale(NAME, dir, pidFile, MARKER);
  const jar = await runForOutput('bash', [PREPARE, 'zipkin']);
  const archive = path.join(path.dirname(jar), 'app.jsa');
  const jvm = ['-Xms32m', '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k'];
  if (existsSync(archive)) jvm.push(`-XX:SharedArchiveFile=${archive}`, '-Xshare:auto', '-Xlog:cds=off');
  const args = [
    ...jvm,
    '-jar',
    jar,
    '--spring.main.banner-mode=off',
    // Armeria serves the API, the UI, /health and the HTTP collector on this one port, loopback only.
    '--armeria.ports[0].ip=127.0.0.1',
    `--armeria.ports[0].port=${ZIPKIN_PORT}`,
    '--armeria.ports[0].protocols[0]=http',
  ];
  // A clean environment: Zipkin switches on Kafka/RabbitMQ/… collectors when their variables are set.
  const zipkinEnv = cleanEnv({ STORAGE_TYPE: 'mem', MEM_MAX_SPANS: '200000', SELF_TRACING_ENABLED: 'false' });
  const child = startDetached('java', args, { cwd: dir, env: zipkinEnv, logFile, pidFile });
  const pid = child.pid as number;
  try {
    await waitUntil(`${NAME} on ${URL}`, answering, {
      deadlineMs: 60_000,
      intervalMs: 50,
      gaveUp: () => (isAlive(pid) ? undefined : `java exited early:\n${tail(logFile)}`),
    });
  } catch (error) {
    await stopPid(pid);
    throw error;
  }
  const ms = elapsed(t0);
  announce(NAME, 'started', ms, URL);
  return {
    name: NAME,
    env,
    reused: false,
    ms,
    async stop() {
      // SIGTERM costs 2.4 s (Netty's graceful quiet period); the in-memory spans are thrown away anyway.
      await stopFromPidFile(dir, pidFile, MARKER, 'SIGKILL');
    },
  };
}
