import { existsSync } from 'node:fs';
import path from 'node:path';
import { httpGetText } from './harness.ts';
import { startJavaServer } from './java-server.ts';
import type { StartedServer } from './types.ts';

/**
 * Zipkin server (io.zipkin:zipkin-server exec jar from Maven Central, extracted, with an AppCDS
 * archive, prepared once by scripts/servers/prepare-java.sh into ~/.cache/isekai/zipkin), in-memory
 * storage, HTTP collector and API on one port.
 */

export const ZIPKIN_PORT = 49411;
const URL = `http://127.0.0.1:${ZIPKIN_PORT}`;

async function answering(): Promise<boolean> {
  const body = await httpGetText(`${URL}/health`);
  return body?.includes('"UP"') ?? false;
}

function args(jar: string): string[] {
  const archive = path.join(path.dirname(jar), 'app.jsa');
  const jvm = ['-Xms32m', '-Xmx256m', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-Xss512k'];
  if (existsSync(archive)) jvm.push(`-XX:SharedArchiveFile=${archive}`, '-Xshare:auto', '-Xlog:cds=off');
  return [
    ...jvm,
    '-jar',
    jar,
    '--spring.main.banner-mode=off',
    // Armeria serves the API, the UI, /health and the HTTP collector on this one port, loopback only.
    '--armeria.ports[0].ip=127.0.0.1',
    `--armeria.ports[0].port=${ZIPKIN_PORT}`,
    '--armeria.ports[0].protocols[0]=http',
  ];
}

export function start(): Promise<StartedServer> {
  return startJavaServer({
    name: 'zipkin',
    url: URL,
    port: ZIPKIN_PORT,
    env: { ZIPKIN_URL: URL },
    prepare: 'zipkin',
    marker: 'zipkin-server-',
    answering,
    args,
    // A clean environment: Zipkin switches on Kafka/RabbitMQ/… collectors when their variables are set.
    javaEnv: { STORAGE_TYPE: 'mem', MEM_MAX_SPANS: '200000', SELF_TRACING_ENABLED: 'false' },
    deadlineMs: 60_000,
    intervalMs: 50,
    // SIGTERM costs 2.4 s (Netty's graceful quiet period); the in-memory spans are thrown away anyway.
    stopSignal: 'SIGKILL',
  });
}
