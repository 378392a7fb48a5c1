import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import zipkin from 'zipkin';
import {
  asIsekaiError,
  Forbidden,
  MethodNotAllowed,
  NotFound,
  Unauthenticated,
  ValidationFailed,
} from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { Runtime } from '../runtime.ts';
import { extractTraceId, traceparentOf } from '../tracing/trace-headers.ts';
import { check, convertAndCheck } from '../validate.ts';
import { parseJsonBody, readBody } from './body.ts';
import { parseQuery } from './query.ts';
import { sendProblem, sendReply } from './respond.ts';
import type { Access, AnyRoute, Authenticator, Identity, Method, RequestContext, Route } from './types.ts';

const { Annotation } = zipkin;
const DEFAULT_BODY_LIMIT = 64 * 1024;

export type HttpHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface HttpFunctionOptions {
  readonly runtime: Runtime;
  readonly routes: readonly Route<never, never>[];
  /** Verifies bearer tokens; without it, routes that need a user answer 401. */
  readonly authenticate?: Authenticator;
}

interface Store {
  readonly route: AnyRoute;
  readonly template: string;
}

/**
 * Build the request handler registered with `http('<name>', handler)`. It works the same under
 * functions-framework (Express req/res) and the lean host (plain node req/res): routing, body limits,
 * validation, auth, tracing, JSON logs, metrics, and problem+json for every error. Adds /healthz,
 * /readyz and /metrics.
 */
export function createHttpFunction(options: HttpFunctionOptions): HttpHandler {
  const { runtime } = options;
  const router = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });
  const noop = () => undefined;
  const builtins: AnyRoute[] = [
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
  const methodsByPath = new Map<string, Set<Method>>();
  for (const route of [...builtins, ...options.routes] as AnyRoute[]) {
    const methods = (Array.isArray(route.method) ? route.method : [route.method]) as Method[];
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    router.on(methods, route.path, noop, { route, template: route.path } satisfies Store);
    const set = methodsByPath.get(route.path) ?? new Set<Method>();
    for (const m of methods) set.add(m);
    methodsByPath.set(route.path, set);
  }
  const allMethods: Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

  /** Find the route, or explain why there is none (404, or 405 with Allow). */
  function match(method: string, path: string): { store: Store; params: Record<string, string> } {
    const found = router.find(method as Method, path);
    if (found) return { store: found.store as Store, params: found.params as Record<string, string> };
    const allowed = allMethods.filter((m) => router.find(m, path) !== null);
    if (allowed.length > 0) throw new MethodNotAllowed(allowed);
    throw new NotFound(`no route for ${path}`);
  }

  /**
   * The query of a request, converted and checked against its route's schema. A route's valid queries
   * are remembered by their query string (at most QUERY_MEMO each, oldest out): a hot read such as a
   * search repeats the same few, and conversion and checking were a tenth of its CPU time. Each request
   * gets its own shallow copy; an invalid query is checked (and refused) every time.
   */
  const memo = new WeakMap<object, Map<string, Record<string, unknown>>>();
  function parsedQuery(store: { route: AnyRoute }, search: string): Record<string, unknown> {
    const route = store.route;
    const rawQuery = () => (search === '' ? {} : parseQuery(search));
    if (!route.query) return rawQuery();
    const seen = memo.get(store) ?? new Map<string, Record<string, unknown>>();
    memo.set(store, seen);
    const known = seen.get(search);
    if (known) return { ...known };
    const query = convertAndCheck<Record<string, unknown>>(route.query, rawQuery(), '/query');
    seen.set(search, Object.freeze({ ...query }));
    if (seen.size > QUERY_MEMO) seen.delete(seen.keys().next().value ?? '');
    return query;
  }

  return (req, res) => {
    const started = performance.now();
    const { tracer } = runtime.tracing;
    const incoming = extractTraceId((name) => header(req, name));
    const traceId = incoming ? tracer.createChildId(incoming) : tracer.createRootId();
    const sampled = traceId.sampled.getOrElse(false);
    const method = req.method ?? 'GET';
    let template = 'unmatched';
    tracer.letId(traceId, () => {
      if (sampled) {
        tracer.recordServiceName(runtime.name);
        tracer.recordAnnotation(new Annotation.ServerRecv());
      }
      res.setHeader('traceparent', traceparentOf(traceId));
      // The path and query by string split: a WHATWG URL per request is measurable on the hot path, and
      // the raw path (no dot-segment resolution) is what the router should see anyway.
      const target = req.url ?? '/';
      const mark = target.indexOf('?');
      const url = {
        pathname: mark === -1 ? target : target.slice(0, mark),
        search: mark === -1 ? '' : target.slice(mark),
      };
      // A child logger per request only when something is logged (most requests log nothing).
      let child: Logger | undefined;
      const log = () => {
        child ??= runtime.log.child({ method, path: url.pathname });
        return child;
      };
      const finish = (status: number) => {
        if (sampled) {
          tracer.letId(traceId, () => {
            tracer.recordRpc(`${method} ${template}`);
            tracer.recordBinary('http.path', url.pathname);
            tracer.recordBinary('http.status_code', String(status));
            if (status >= 500) tracer.recordBinary('error', String(status));
            tracer.recordAnnotation(new Annotation.ServerSend());
          });
        }
        const labels = { route: template, method, status: String(status) };
        runtime.metrics.httpRequests.inc(labels);
        runtime.metrics.httpDuration.observe(labels, (performance.now() - started) / 1000);
      };
      handle(req, res, url, log)
        .then(finish)
        .catch((error: unknown) => {
          const failure = asIsekaiError(error);
          const status = sendProblem(res, failure, url.pathname);
          const fields = { code: failure.code, status, err: status >= 500 ? error : undefined };
          if (status >= 500) log().error(fields, failure.message);
          else log().info(fields, failure.message);
          finish(status);
        });
    });

    async function handle(
      req: IncomingMessage,
      res: ServerResponse,
      url: { pathname: string; search: string },
      log: () => Logger,
    ) {
      if (url.pathname.includes('%00')) throw new ValidationFailed('the URL path contains a NUL byte');
      const { store, params } = match(method, url.pathname);
      template = store.template;
      const route = store.route;
      const identity =
        route.access === undefined || route.access === 'public'
          ? undefined
          : await authorize(route.access, req, options.authenticate);
      let body: unknown;
      let raw: Buffer | undefined;
      if (method !== 'GET' && method !== 'HEAD' && (route.body || route.raw)) {
        const bytes = await readBody(req, route.bodyLimit ?? DEFAULT_BODY_LIMIT);
        if (route.raw) raw = bytes;
        else if (route.body) body = check(route.body, parseJsonBody(req, bytes), '/body');
      }
      const query = parsedQuery(store, url.search);
      const ctx: RequestContext<never, never> = {
        req,
        res,
        get url() {
          return new URL(req.url ?? '/', 'http://function.local');
        },
        params,
        query: query as never,
        body: body as never,
        raw,
        identity,
        get log() {
          return log();
        },
      };
      const reply = await route.handle(ctx);
      if (reply === undefined) return res.statusCode;
      await sendReply(res, reply, method === 'HEAD');
      return reply.status ?? (reply.body === undefined ? 204 : 200);
    }
  };
}

/** Distinct valid query strings remembered per route (`parsedQuery`). */
const QUERY_MEMO = 256;

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function authorize(
  access: Access,
  req: IncomingMessage,
  authenticate: Authenticator | undefined,
): Promise<Identity | undefined> {
  if (access === 'public') return undefined;
  const identity = authenticate ? await authenticate(req) : undefined;
  if (access === 'optional') return identity;
  if (!identity) throw new Unauthenticated('a bearer token is required for this route');
  if (access !== 'user' && !access.roles.some((role) => identity.roles.includes(role))) {
    throw new Forbidden(`this route needs one of the roles: ${access.roles.join(', ')}`);
  }
  return identity;
}
