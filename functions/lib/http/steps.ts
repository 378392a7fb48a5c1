import FindMyWay from 'find-my-way';
import zipkin from 'zipkin';
import { personRefusal } from '../auth/people.ts';
import {
  asIsekaiError,
  Forbidden,
  MethodNotAllowed,
  NotFound,
  Unauthenticated,
  ValidationFailed,
} from '../errors.ts';
import { httpRequestRecorder } from '../metrics.ts';
import type { Runtime } from '../runtime.ts';
import { withTraceContext } from '../tracing/als-context.ts';
import { extractTraceId, traceparentOf } from '../tracing/trace-headers.ts';
import { check, convertAndCheck } from '../validate.ts';
import { parseJsonBody, readBody as readBytes } from './body.ts';
import type { Exchange, Next, Outcome, Step } from './pipeline.ts';
import { parseQuery } from './query.ts';
import { sendProblem } from './respond.ts';
import type { Access, AnyRoute, Authenticator, Identity, Method } from './types.ts';

/** The steps of `createHttpFunction`, outermost first: trace → measure → problems → route → authorize → readBody → parseQueryString. */

const { Annotation } = zipkin;
const DEFAULT_BODY_LIMIT = 64 * 1024;
const ALL_METHODS: Method[] = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Distinct valid query strings remembered per route (`parseQueryString`). */
const QUERY_MEMO = 256;

function header(x: Exchange, name: string): string | undefined {
  const value = x.req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Tracing: continue the caller's trace (W3C `traceparent` or B3) or start one, run the rest inside it
 * (AsyncLocalStorage: logs, outgoing calls and new events see it), answer with `traceparent`, and — when
 * sampled — record the server span (`<method> <route template>`, path, status, `error` for 5xx).
 */
export function trace(runtime: Runtime): Step {
  const { tracing } = runtime;
  const { tracer } = tracing;
  const finishSpan = (x: Exchange, status: number): number => {
    tracer.recordRpc(`${x.method} ${x.template}`);
    tracer.recordBinary('http.path', x.pathname);
    tracer.recordBinary('http.status_code', String(status));
    if (status >= 500) tracer.recordBinary('error', String(status));
    tracer.recordAnnotation(new Annotation.ServerSend());
    return status;
  };
  // The rest of the pipeline, inside the request's trace context.
  const traced = (x: Exchange, next: Next): Outcome => {
    const traceId = x.traceId as zipkin.TraceId;
    // Answered with the reply's headers (one writeHead: `respond.ts`), not set on `res` here.
    x.traceparent = traceparentOf(traceId);
    if (!traceId.sampled.getOrElse(false)) return next(x);
    tracer.recordServiceName(runtime.name);
    tracer.recordAnnotation(new Annotation.ServerRecv());
    const outcome = next(x);
    if (typeof outcome === 'number') return finishSpan(x, outcome);
    return outcome.then((status) => tracer.letId(traceId, () => finishSpan(x, status)));
  };
  return (x, next) => {
    const headers = x.req.headers;
    // Most requests carry no trace context: skip the parsers (and a getter closure) for them.
    const incoming =
      headers.traceparent === undefined && headers.b3 === undefined && headers['x-b3-traceid'] === undefined
        ? undefined
        : extractTraceId((name) => header(x, name));
    const traceId = incoming ? tracing.childId(incoming) : tracing.rootId();
    x.traceId = traceId;
    return withTraceContext(traceId, traced, x, next);
  };
}

/** Metrics: `http_requests_total` and `http_request_duration_seconds` by route template, method and status. */
export function measure(runtime: Runtime): Step {
  const recordRequest = httpRequestRecorder(runtime.metrics);
  const record = (x: Exchange, status: number): number => {
    recordRequest(x.template, x.method, status, (performance.now() - x.started) / 1000);
    return status;
  };
  return (x, next) => {
    const outcome = next(x);
    if (typeof outcome === 'number') return record(x, outcome);
    return outcome.then((status) => record(x, status));
  };
}

/**
 * Errors → problem+json (RFC 9457, by the error's code) and one log line: `info` for 4xx, `error` with
 * the error for 5xx (code, status). Catches what any later step throws, at once or later.
 */
export const problems: Step = (x, next) => {
  let outcome: Outcome;
  try {
    outcome = next(x);
  } catch (error) {
    return answerProblem(x, error);
  }
  if (typeof outcome === 'number') return outcome;
  return outcome.catch((error: unknown) => answerProblem(x, error));
};

function answerProblem(x: Exchange, error: unknown): number {
  const failure = asIsekaiError(error);
  const status = sendProblem(x.res, failure, x.pathname, x.traceparent);
  const fields = { code: failure.code, status, err: status >= 500 ? error : undefined };
  if (status >= 500) x.log.error(fields, failure.message);
  else x.log.info(fields, failure.message);
  return status;
}

/**
 * Routing (find-my-way, case-sensitive, trailing slash ignored; GET routes answer HEAD too): sets the
 * route, its path params and template. No route: 404; the path exists with other methods: 405 with
 * `Allow`; a NUL byte in the path: 400.
 */
export function route(routes: readonly AnyRoute[]): Step {
  const router = FindMyWay({ ignoreTrailingSlash: true, caseSensitive: true });
  const noop = () => undefined;
  for (const r of routes) {
    const methods = (Array.isArray(r.method) ? [...r.method] : [r.method]) as Method[];
    if (methods.includes('GET') && !methods.includes('HEAD')) methods.push('HEAD');
    router.on(methods, r.path, noop, { route: r });
  }
  return (x, next) => {
    if (x.pathname.includes('%00')) throw new ValidationFailed('the URL path contains a NUL byte');
    const found = router.find(x.method as Method, x.pathname);
    if (!found) {
      const allowed = ALL_METHODS.filter((m) => router.find(m, x.pathname) !== null);
      if (allowed.length > 0) throw new MethodNotAllowed(allowed);
      throw new NotFound(`no route for ${x.pathname}`);
    }
    const matched = (found.store as { route: AnyRoute }).route;
    x.route = matched;
    x.template = matched.path;
    x.params = found.params as Record<string, string>;
    return next(x);
  };
}

/**
 * Access: `public` (or none) passes; `optional` passes without a token, and a token sent must be a
 * person's (it acts as that person: their own entry, their own scores); `user` needs one (401) of a
 * person; a service-account token or one without a person's role is 403 on both (`auth/people.ts`);
 * `{ roles }` needs one of the roles (403). Sets the caller's identity.
 */
export function authorize(authenticate: Authenticator | undefined): Step {
  return (x, next) => {
    const access = x.route?.access;
    if (access === undefined || access === 'public') return next(x);
    // An authenticator answers at once when no credentials were sent (an anonymous read waits for nothing).
    const found = authenticate ? authenticate(x.req) : undefined;
    if (typeof (found as PromiseLike<unknown> | undefined)?.then === 'function')
      return Promise.resolve(found).then((identity) => admit(access, x, identity, next));
    return admit(access, x, found as Identity | undefined, next);
  };
}

/** Set the caller (checked against the route's access) and go on. */
function admit(access: Exclude<Access, 'public'>, x: Exchange, identity: Identity | undefined, next: Next) {
  x.identity = checkAccess(access, identity);
  return next(x);
}

/** The identity the route's access admits (undefined for an anonymous `optional` call); throws 401/403. */
function checkAccess(
  access: Exclude<Access, 'public'>,
  identity: Identity | undefined,
): Identity | undefined {
  if (access === 'optional' && !identity) return undefined;
  if (!identity) throw new Unauthenticated('a bearer token is required for this route');
  if (access === 'user' || access === 'optional') {
    const refusal = personRefusal(identity);
    if (refusal) throw new Forbidden(refusal);
    return identity;
  }
  if (!access.roles.some((role) => identity.roles.includes(role))) {
    throw new Forbidden(`this route needs one of the roles: ${access.roles.join(', ')}`);
  }
  return identity;
}

/**
 * The body, for routes that take one (not on GET/HEAD): read up to the route's `bodyLimit` (default
 * 64 KiB, 413 past it), then kept raw (`raw` routes) or parsed as JSON and checked against the route's
 * schema (400 naming each bad field under `/body`).
 */
export const readBody: Step = (x, next) => {
  const r = x.route;
  if (!r || x.method === 'GET' || x.method === 'HEAD' || !(r.body || r.raw)) return next(x);
  return readBytes(x.req, r.bodyLimit ?? DEFAULT_BODY_LIMIT).then((bytes) => {
    if (r.raw) x.raw = bytes;
    else if (r.body) x.body = check(r.body, parseJsonBody(x.req, bytes), '/body');
    return next(x);
  });
};

/**
 * The query, converted and checked against its route's schema (strict decoding, `http/query.ts`). A
 * route's valid queries are remembered by their query string (at most QUERY_MEMO each, oldest out): a
 * hot read such as a search repeats the same few, and conversion and checking were a tenth of its CPU
 * time. Each request gets its own shallow copy; an invalid query is checked (and refused) every time.
 */
export function parseQueryString(): Step {
  const memo = new WeakMap<AnyRoute, Map<string, Record<string, unknown>>>();
  return (x, next) => {
    const r = x.route as AnyRoute;
    const search = x.search;
    if (!r.query) {
      x.query = search === '' ? {} : parseQuery(search);
      return next(x);
    }
    let seen = memo.get(r);
    if (!seen) {
      seen = new Map();
      memo.set(r, seen);
    }
    const known = seen.get(search);
    if (known) x.query = { ...known };
    else {
      const query = convertAndCheck<Record<string, unknown>>(
        r.query,
        search === '' ? {} : parseQuery(search),
        '/query',
      );
      seen.set(search, Object.freeze({ ...query }));
      if (seen.size > QUERY_MEMO) seen.delete(seen.keys().next().value ?? '');
      x.query = query;
    }
    return next(x);
  };
}
