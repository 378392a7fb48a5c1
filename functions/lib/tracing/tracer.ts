import zipkin from 'zipkin';
import { HttpLogger } from 'zipkin-transport-http';
import { AlsContext } from './als-context.ts';

const { Tracer, BatchRecorder, jsonEncoder, sampler, option, TraceId } = zipkin;

/** A tracer plus what is needed to flush it at shutdown. */
export interface Tracing {
  readonly tracer: zipkin.Tracer;
  readonly serviceName: string;
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
  const tracer = new Tracer({
    ctxImpl,
    recorder,
    sampler: new sampler.CountingSampler(options.sampleRate ?? 1),
    traceId128Bit: true,
    supportsJoin: false,
    localServiceName: options.serviceName,
  });
  return {
    tracer,
    serviceName: options.serviceName,
    currentTraceId() {
      const id = ctxImpl.getContext();
      return id === root ? undefined : id.traceId;
    },
    flush: () => flushLogger(logger),
  };
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
