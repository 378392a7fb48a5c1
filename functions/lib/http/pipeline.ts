import type { IncomingMessage, ServerResponse } from 'node:http';
import type zipkin from 'zipkin';
import type { Logger } from '../logger.ts';
import type { AnyRoute, Identity } from './types.ts';

/**
 * One request on its way through the steps: what the framework handed over, and what each step found
 * (the route, the caller, the body). One object per request, no closures: the steps are built once.
 */
export class Exchange {
  readonly started = performance.now();
  readonly method: string;
  /** The raw path (no dot-segment resolution: what the router should see) and `?query` (or ''). */
  readonly pathname: string;
  readonly search: string;
  /** The route's path template once routing found it (`unmatched` before: the metrics label). */
  template = 'unmatched';
  traceId: zipkin.TraceId | undefined;
  /**
   * The `traceparent` header to answer with (set by the trace step): sent with the reply's other headers
   * in one `writeHead`, or set on `res` when a handler takes `ctx.res` to write the answer itself.
   */
  traceparent: string | undefined;
  route: AnyRoute | undefined;
  params: Record<string, string> = {};
  identity: Identity | undefined;
  body: unknown;
  raw: Buffer | undefined;
  query: Record<string, unknown> = {};
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly #baseLog: Logger;
  #log: Logger | undefined;

  constructor(req: IncomingMessage, res: ServerResponse, baseLog: Logger) {
    this.req = req;
    this.res = res;
    this.#baseLog = baseLog;
    this.method = req.method ?? 'GET';
    // The path and query by string split: a WHATWG URL per request is measurable on the hot path.
    const target = req.url ?? '/';
    const mark = target.indexOf('?');
    this.pathname = mark === -1 ? target : target.slice(0, mark);
    this.search = mark === -1 ? '' : target.slice(mark);
  }

  /** A child logger with method and path, made only when something is logged (most requests log nothing). */
  get log(): Logger {
    this.#log ??= this.#baseLog.child({ method: this.method, path: this.pathname });
    return this.#log;
  }
}

/**
 * What a step answers: the status, at once when the request was answered synchronously (a handler that
 * returned its reply, a refusal), else a promise of it. Most hot requests never wait, so they allocate no
 * promise on their way through the steps.
 */
export type Outcome = number | Promise<number>;

/** What the rest of the pipeline does; answers with the status sent. */
export type Next = (x: Exchange) => Outcome;

/**
 * One named step of the request pipeline: do its part, call `next(x)` for the rest (or answer without
 * it), and may act on the status the rest answered (`typeof outcome === 'number'`: at once; else when the
 * promise settles). A step that only prepares returns `next(x)` as is.
 */
export type Step = (x: Exchange, next: Next) => Outcome;

/**
 * Compose steps into one, outermost first (as functions-framework's middleware chain or Astro's
 * `sequence()`): `sequence(a, b)(x, last)` runs a, whose `next` runs b, whose `next` is `last`. Composed
 * once at start-up: a request allocates no closure for the chain.
 * @example const run = sequence(trace(runtime), measure(runtime), problems())(x => handle(x));
 */
export function sequence(...steps: Step[]): (last: Next) => Next {
  return (last) => steps.reduceRight<Next>((next, step) => (x) => step(x, next), last);
}
