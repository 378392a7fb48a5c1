import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../logger.ts';
import type { Runtime } from '../runtime.ts';
import { Exchange, type Outcome, sequence } from './pipeline.ts';
import { sendReply } from './respond.ts';
import { authorize, measure, parseQueryString, problems, readBody, route, trace } from './steps.ts';
import type { AnyRoute, Authenticator, Identity, Reply, RequestContext, Route } from './types.ts';

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpFunctionOptions {
  readonly runtime: Runtime;
  readonly routes: readonly Route<never, never>[];
  /** Verifies bearer tokens; without it, routes that need a user answer 401. */
  readonly authenticate?: Authenticator;
}

/** `/healthz` (alive), `/readyz` (the runtime's readiness checks: 200 or 503), `/metrics` (Prometheus). */
function builtinRoutes(runtime: Runtime): AnyRoute[] {
  return [
    { method: 'GET', path: '/healthz', handle: () => ({ body: { status: 'ok' } }) },
    {
      method: 'GET',
      path: '/readyz',
      handle: async () => {
        const report = await runtime.readiness();
        return { status: report.ready ? 200 : 503, body: report };
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      handle: async () => ({
        headers: { 'content-type': runtime.metrics.registry.contentType },
        body: await runtime.metrics.registry.metrics(),
      }),
    },
  ];
}

/**
 * What a handler sees of its request (`RequestContext`): one object per request whose `url` and `log`
 * are made only when read (on the prototype, not a closure pair per request). A handler that takes `res`
 * to write the answer itself gets it with `traceparent` already set.
 */
class Context implements RequestContext<never, never> {
  readonly req: Exchange['req'];
  readonly params: Readonly<Record<string, string>>;
  readonly query: never;
  readonly body: never;
  readonly raw: Buffer | undefined;
  readonly identity: Identity | undefined;
  readonly #x: Exchange;

  constructor(x: Exchange) {
    this.#x = x;
    this.req = x.req;
    this.params = x.params;
    this.query = x.query as never;
    this.body = x.body as never;
    this.raw = x.raw;
    this.identity = x.identity;
  }

  get res(): Exchange['res'] {
    const { res, traceparent } = this.#x;
    if (traceparent !== undefined && !res.headersSent && !res.hasHeader('traceparent'))
      res.setHeader('traceparent', traceparent);
    return res;
  }

  get url(): URL {
    return new URL(this.req.url ?? '/', 'http://function.local');
  }

  get log(): Logger {
    return this.#x.log;
  }
}

/**
 * The last step: the route's handler with its typed context, and its reply sent. A handler that returns
 * its reply (not a promise) is answered at once, without a promise; the status is the outcome.
 */
function handleRoute(x: Exchange): Outcome {
  const reply = (x.route as AnyRoute).handle(new Context(x));
  if (isThenable(reply)) return Promise.resolve(reply).then((r) => answer(x, r));
  return answer(x, reply);
}

function answer(x: Exchange, reply: Reply | undefined): Outcome {
  if (reply === undefined) return x.res.statusCode;
  const status = reply.status ?? (reply.body === undefined ? 204 : 200);
  const streaming = sendReply(x.res, reply, x.method === 'HEAD', x.traceparent);
  return streaming === undefined ? status : streaming.then(() => status);
}

function isThenable(value: unknown): value is PromiseLike<Reply | undefined> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * Build the request handler registered with `http('<name>', handler)`. It works the same under
 * functions-framework (Express req/res) and the lean host (plain node req/res). A request goes through
 * small named steps (`steps.ts`), composed once with `sequence()` (`pipeline.ts`):
 * trace → measure → problems → route → authorize → readBody → parseQueryString → the handler.
 * Adds /healthz, /readyz and /metrics.
 */
export function createHttpFunction(options: HttpFunctionOptions): HttpHandler {
  const { runtime } = options;
  const run = sequence(
    trace(runtime),
    measure(runtime),
    problems,
    route([...builtinRoutes(runtime), ...(options.routes as AnyRoute[])]),
    authorize(options.authenticate),
    readBody,
    parseQueryString(),
  )(handleRoute);
  return (req, res) => {
    void run(new Exchange(req, res, runtime.log));
  };
}
