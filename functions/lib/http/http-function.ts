import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Runtime } from '../runtime.ts';
import { parsePathParams } from './params.ts';
import { Exchange, sequence } from './pipeline.ts';
import { sendReply } from './respond.ts';
import { authorize, measure, parseQueryString, problems, readBody, route, trace } from './steps.ts';
import type { AnyRoute, Authenticator, RequestContext, Route } from './types.ts';

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

/** The last step: the route's handler with its typed context, and its reply sent. Resolves with the status. */
async function handleRoute(x: Exchange): Promise<number> {
  const ctx: RequestContext<never, never> = {
    req: x.req,
    res: x.res,
    get url() {
      return new URL(x.req.url ?? '/', 'http://function.local');
    },
    params: x.params,
    query: x.query as never,
    body: x.body as never,
    raw: x.raw,
    identity: x.identity,
    get log() {
      return x.log;
    },
  };
  const reply = await (x.route as AnyRoute).handle(ctx);
  if (reply === undefined) return x.res.statusCode;
  await sendReply(x.res, reply, x.method === 'HEAD');
  return reply.status ?? (reply.body === undefined ? 204 : 200);
}

/**
 * Build the request handler registered with `http('<name>', handler)`. It works the same under
 * functions-framework (Express req/res) and the lean host (plain node req/res). A request goes through
 * small named steps (`steps.ts`), composed once with `sequence()` (`pipeline.ts`):
 * trace → measure → problems → route → authorize → parsePathParams (`params.ts`) → readBody →
 * parseQueryString → the handler.
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
    parsePathParams,
    readBody,
    parseQueryString(),
  )(handleRoute);
  return (req, res) => {
    void run(new Exchange(req, res, runtime.log));
  };
}
