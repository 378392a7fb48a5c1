import { portFromEnv, tcpOpen } from './harness.ts';
import { startJavaServer } from './java-server.ts';
import type { StartedServer } from './types.ts';

/**
 * MongoDB wire-protocol server (de.bwaldvogel mongo-java-server, in-memory backend) built from
 * scripts/servers/mongo-wire by scripts/servers/prepare-java.sh (cached in ~/.cache/isekai).
 * It is not MongoDB: no sessions/transactions, TTL indexes never expire documents, no $text,
 * no update pipelines, collations ignored (see scripts/servers/README.md).
 */

/** 47017 unless `MONGO_WIRE_PORT` names another (a private server for experiments and tests). */
export const MONGO_PORT = portFromEnv('MONGO_WIRE_PORT', 47017);
const URL = `mongodb://127.0.0.1:${MONGO_PORT}`;

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

export function start(): Promise<StartedServer> {
  return startJavaServer({
    name: 'mongo-wire',
    url: URL,
    port: MONGO_PORT,
    env: { MONGO_URL: URL },
    prepare: 'mongo-wire',
    marker: 'mongo-wire-',
    answering,
    args: (jar) => [
      '-Xms16m',
      '-Xmx128m',
      '-XX:TieredStopAtLevel=1',
      '-XX:+UseSerialGC',
      '-jar',
      jar,
      '127.0.0.1',
      String(MONGO_PORT),
    ],
    deadlineMs: 30_000,
    intervalMs: 25,
  });
}
