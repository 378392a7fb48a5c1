import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { createRuntime } from '../../functions/lib/runtime.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { startTestEdge, TEST_DOMAIN, type TestEdge } from '../../scripts/servers/nginx.ts';
import { type ManifestBroker, startBrokerFromManifests } from '../../scripts/stack/broker/from-manifests.ts';
import { type EventFunction, type RealFunctions, startRealFunctions } from './real-functions.ts';
import { type ScratchVhost, scratchVhost } from './scratch-vhost.ts';

export interface ChainStack {
  readonly functions: RealFunctions;
  readonly broker: ManifestBroker;
  readonly edge: TestEdge;
  readonly amqpUrl: string;
  /** `https://<sub>.isekai.localhost:<edge port>`: what a browser or a partner calls (the edge's CA is trusted). */
  origin(sub: 'api' | 'events'): string;
  stop(): Promise<void>;
}

/**
 * The assembled system as `npm start` runs it, for chain tests: every function on the lean host with the
 * production wiring (test/support/real-functions.ts), producers' `K_SINK` at the broker data plane of
 * knative/base (scripts/stack/broker/from-manifests.ts) on a RabbitMQ vhost of its own, whose Triggers deliver to
 * the real notify and dead-letters processes, and real nginx in front. The edge's self-signed certificate
 * is added to this process's default CAs, so plain `fetch` reaches `https://api.isekai.localhost:<port>`.
 */
export async function startChainStack(env: Record<string, string>, label: string): Promise<ChainStack> {
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const vhost: ScratchVhost = await scratchVhost(env, label);
    stops.push(vhost.drop);
    // The ingress port is chosen first: producers are wired with their K_SINK before the broker can
    // resolve its subscribers (the functions' ports).
    const brokerPort = await freePort();
    const functions = await startRealFunctions(env, label, {
      sink: `http://127.0.0.1:${brokerPort}/isekai/default`,
    });
    stops.push(functions.stop);
    const runtime = createRuntime('broker', { env: { LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'silent' } });
    const broker = await startBrokerFromManifests({
      runtime,
      amqpUrl: vhost.amqpUrl,
      port: brokerPort,
      subscriberUrl: (service) => functions.subscribers[service as EventFunction],
    });
    stops.push(async () => {
      await broker.close();
      await runtime.shutdown();
    });
    if (broker.sink !== `http://127.0.0.1:${brokerPort}/isekai/default`)
      throw new Error(`broker ingress ${broker.sink} is not the producers' K_SINK`);
    const edge = await startTestEdge(label, {
      functions: functions.ports,
      defaultPort: await freePort(),
      keycloakUrl: env.KEYCLOAK_URL ?? '',
      overrides: { limits: { perIp: { rate: 1000, burst: 1000 }, perToken: { rate: 1000, burst: 1000 } } },
    });
    stops.push(edge.stop);
    setDefaultCACertificates([...getCACertificates('default'), edge.ca]);
    return {
      functions,
      broker,
      edge,
      amqpUrl: vhost.amqpUrl,
      origin: (sub) => `https://${sub}.${TEST_DOMAIN}:${edge.port}`,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** One Server-Sent Events frame: a notification (`id`, `event`, `data`) or a comment (`: connected`). */
export interface SseFrame {
  readonly id?: string;
  readonly event?: string;
  readonly data?: string;
  readonly comment?: string;
}

export interface OpenStream {
  readonly status: number;
  /** Every frame read so far, in order. */
  readonly frames: SseFrame[];
  /** The notifications read so far (`event: notification`, data parsed). */
  notifications(): Record<string, unknown>[];
  close(): void;
}

/**
 * Open an SSE stream as a browser client does: `fetch` with the Authorization header and a stream reader
 * (the README's advice instead of EventSource). Frames are collected as they arrive until `close()`.
 */
export async function openEventStream(url: string, token: string): Promise<OpenStream> {
  const controller = new AbortController();
  const res = await fetch(url, {
    headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    signal: controller.signal,
  });
  const frames: SseFrame[] = [];
  const stream: OpenStream = {
    status: res.status,
    frames,
    notifications: () =>
      frames
        .filter((f) => f.event === 'notification' && f.data !== undefined)
        .map((f) => JSON.parse(f.data ?? '') as Record<string, unknown>),
    close: () => controller.abort(),
  };
  if (!res.body || res.status !== 200) {
    await res.text().catch(() => undefined);
    return stream;
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  void (async () => {
    let buffer = '';
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          frames.push(...parseBlock(buffer.slice(0, end)));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // aborted by close()
    }
  })();
  return stream;
}

function parseBlock(block: string): SseFrame[] {
  const out: SseFrame[] = [];
  const fields: { id?: string; event?: string; data?: string } = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) out.push({ comment: line.slice(1).trim() });
    else {
      const at = line.indexOf(':');
      const name = at < 0 ? line : line.slice(0, at);
      const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
      if (name === 'id' || name === 'event') fields[name] = value;
      else if (name === 'data') fields.data = fields.data === undefined ? value : `${fields.data}\n${value}`;
    }
  }
  if (fields.event !== undefined || fields.data !== undefined) out.push(fields);
  return out;
}
