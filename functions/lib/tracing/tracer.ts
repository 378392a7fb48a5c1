import { randomFillSync } from 'node:crypto';
import zipkin from 'zipkin';
import { HttpLogger } from 'zipkin-transport-http';
import { AlsContext } from './als-context.ts';

const { Tracer, BatchRecorder, jsonEncoder, sampler, option, TraceId } = zipkin;

/** A tracer plus what is needed to flush it at shutdown. */
export interface Tracing {
  readonly tracer: zipkin.Tracer;
  readonly serviceName: string;
  /**
   * A new root id: 128-bit trace id, 64-bit span id, sampled by the tracer's sampler — what
   * `tracer.createRootId()` makes, from a pool of random bytes instead of 32 `Math.random()` calls.
   */
  rootId(): zipkin.TraceId;
  /** A child of `parent` (its trace, a new span id, its sampling decision or the sampler's): `tracer.createChildId(parent)`. */
  childId(parent: zipkin.TraceId): zipkin.TraceId;
  /** Current trace id as a 32-hex string, or undefined outside a traced scope. */
  currentTraceId(): string | undefined;
  /** Send buffered spans now (tests, shutdown). */
  flush(): Promise<void>;
}

interface TracingOptions {
  readonly serviceName: string;
  /** Zipkin base URL; without it spans are dropped but context still propagates. */
  readonly zipkinUrl?: string | undefined;
  readonly sampleRate?: number;
}

/**
 * Create the process's tracer: zipkin with an AsyncLocalStorage context, 128-bit trace ids, spans
 * sent as JSON v2 to `${zipkinUrl}/api/v2/spans` in batches (the transport's default is JSON v1).
 */
export function createTracing(options: TracingOptions): Tracing {
  const root = new TraceId({ traceId: '0'.repeat(32), spanId: '0'.repeat(16), sampled: option.None });
  const ctxImpl = new AlsContext<zipkin.TraceId>(root);
  let logger: HttpLogger | undefined;
  let recorder: zipkin.Recorder;
  if (options.zipkinUrl) {
    logger = new HttpLogger({
      endpoint: new URL('/api/v2/spans', options.zipkinUrl).href,
      jsonEncoder: jsonEncoder.JSON_V2,
      httpInterval: 1000,
      timeout: 2000,
    });
    // Lost spans are not worth a crash or a log storm; the logger stays quiet on transport errors.
    (logger as unknown as NodeJS.EventEmitter).on('error', () => undefined);
    recorder = new BatchRecorder({ logger, timeout: 60_000_000 });
  } else {
    recorder = { record: () => undefined } as unknown as zipkin.Recorder;
  }
  // zipkin's CountingSampler, with the decision reachable without allocating an Option per id.
  const decide = countingDecision(options.sampleRate ?? 1);
  const tracer = new Tracer({
    ctxImpl,
    recorder,
    sampler: new sampler.Sampler(decide),
    traceId128Bit: true,
    supportsJoin: false,
    localServiceName: options.serviceName,
  });
  return {
    tracer,
    serviceName: options.serviceName,
    rootId() {
      const ids = randomHex(24);
      return new TraceId({
        traceId: ids.slice(0, 32),
        spanId: ids.slice(32),
        parentId: option.None,
        sampled: decide() ? SAMPLED : UNSAMPLED,
      });
    },
    childId(parent) {
      const debug = parent.isDebug();
      let sampled = parent.sampled;
      if (!debug && !sampled.present) sampled = decide() ? SAMPLED : UNSAMPLED;
      return new TraceId({
        traceId: parent.traceId,
        parentId: new option.Some(parent.spanId),
        spanId: randomHex(8),
        debug,
        sampled,
      });
    },
    currentTraceId() {
      const id = ctxImpl.getContext();
      return id === root ? undefined : id.traceId;
    },
    flush: () => flushLogger(logger),
  };
}

/** Sampling decisions are shared: an Option is never changed once made. */
const SAMPLED = new option.Some(true);
const UNSAMPLED = new option.Some(false);

/** zipkin's counting sampler (`CountingSampler`): none at ≤ 0, all at ≥ 1, else one in ⌊1/rate⌋, the first sampled. */
function countingDecision(rate: number): () => boolean {
  if (rate <= 0) return () => false;
  if (rate >= 1) return () => true;
  const limit = Math.floor(1 / rate);
  let counter = 0;
  return () => {
    counter %= limit;
    const sample = counter === 0;
    counter += 1;
    return sample;
  };
}

const POOL_BYTES = 4096;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let used = POOL_BYTES;

/** `bytes` random bytes (crypto's generator, drawn 4 KiB at a time) as lowercase hex. */
function randomHex(bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    randomFillSync(pool);
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

interface QueueingLogger {
  queue: unknown[];
  fetchImplementation: unknown;
  processQueue(fetchImpl: unknown): void;
  once(event: string, listener: () => void): void;
}

/** zipkin-transport-http's processQueue returns nothing: wait for its success/error event instead. */
function flushLogger(logger: HttpLogger | undefined): Promise<void> {
  const l = logger as unknown as QueueingLogger | undefined;
  if (!l || l.queue.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    l.once('success', resolve);
    l.once('error', resolve);
    l.processQueue(l.fetchImplementation);
  });
}
