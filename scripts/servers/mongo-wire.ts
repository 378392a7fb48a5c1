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
  tcpOpen,
  waitUntil,
} from './harness.ts';
import type { StartedServer } from './types.ts';

/**
 * MongoDB wire-protocol server (de.bwaldvogel mongo-java-server, in-memory backend) built from
 * scripts/servers/mongo-wire by scripts/servers/prepare-java.sh (cached in ~/.cache/isekai).
 * It is not MongoDB: no sessions/transactions, TTL indexes never expire documents, no $text,
 * no update pipelines, collations ignored (see scripts/servers/README.md).
 */

const NAME = 'mongo-wire';
export const MONGO_PORT = 47017;
const URL = `mongodb://127.0.0.1:${MONGO_PORT}`;
const PREPARE = path.join(repoRoot, 'scripts/servers/prepare-java.sh');
const MARKER = 'mongo-wire-';

/** Answers a MongoDB `ping` (not merely an open port). */
async function answering(): Promise<boolean> {
  if (!(await tcpOpen(MONGO_PORT))) return false;
  const { MongoClient } = await import('mongodb');
  const client = new MongoClient(URL, { serverSelectionTimeoutMS: 1000, connectTimeoutMS: 1000 });
  try {
    await client.db('admin').command({ ping: 1 });
    return true;
  } catch {
    return false;
  } finally {
    await client.close();
  }
}

export async function start(): Promise<StartedServer> {
  const t0 = performance.now();
  const env = { MONGO_URL: URL };
  if (await answering()) {
    const ms = elapsed(t0);
    announce(NAME, 'reused', ms, URL);
    return { name: NAME, env, reused: true, ms, stop: async () => {} };
  }
  const dir = dataDir(NAME);
  const pidFile = path.join(dir, 'server.pid');
  const logFile = path.join(dir, 'server.log');
  await clearStale(NAME, dir, pidFile, MARKER);
  const jar = await runForOutput('bash', [PREPARE, 'mongo-wire']);
  const child = startDetached(
    'java',
    [
      '-Xms16m',
      '-Xmx128m',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-jar',
      jar,
      '127.0.0.1',
      String(MONGO_PORT),
    ],
    { cwd: dir, env: cleanEnv({}), logFile, pidFile },
  );
  const pid = child.pid as number;
  try {
    await waitUntil(`${NAME} on ${URL}`, answering, {
      deadlineMs: 30_000,
      intervalMs: 25,
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
      await stopFromPidFile(dir, pidFile, MARKER);
    },
  };
}
