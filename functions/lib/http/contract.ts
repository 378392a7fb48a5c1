import type { Static, TSchema } from 'typebox';
import type { Access, AnyRoute, Identity, Method, Reply, RequestContext } from './types.ts';

/**
 * A route as a function's API table declares it: everything but the handler. The same declaration
 * types the handler (`implement`), and feeds the edge (nginx locations, edge-auth rules) and the OpenAPI
 * document (`api/`), so the three cannot drift apart. *(tRPC `.input(schema)`, ts-rest contracts.)*
 */
export interface RouteSpec {
  readonly method: Exclude<Method, 'HEAD'>;
  /** find-my-way path: `/anime/:id`, `/seasons/:year/:season`. */
  readonly path: string;
  readonly access: Access;
  /** One line for the OpenAPI document. */
  readonly summary: string;
  readonly description?: string;
  /** JSON body schema (the body must be application/json and valid). */
  readonly body?: TSchema;
  /** Query schema (values converted from strings; unknown parameters refused). */
  readonly query?: TSchema;
  /** Request body media types when not JSON (uploads, XML imports). */
  readonly consumes?: readonly string[];
  /** Read the body as bytes (`ctx.raw`) before the handler; without it a `consumes` route streams `ctx.req`. */
  readonly raw?: boolean;
  /** Maximum request body in bytes (default 64 KiB); nginx enforces the same at the edge. */
  readonly bodyLimit?: number;
  /** Success status (default 200; 204 = no body). */
  readonly status?: number;
  /**
   * Answers beyond the success and the errors every route of its kind has (400 from any input, 401 from a
   * non-public access, 403 from any non-public access (a role missing; on `user` and `optional` routes a
   * token that is not a person's), 404 from a path parameter, 413 and 415 from a body; 429 and
   * 503 always). Successes: 200 (a route whose `status` is 201 that can also find the item already there),
   * 201 (a route answering 200 that can also create), 207 a multi-status body (one verdict per item).
   * Errors: 403 `forbidden` on a `user` route the caller may not use on this resource (a group's leaders
   * only), 404 `not_found` without a path parameter (nothing matches a query), 409 `conflict`, 410 `gone`,
   * 413 `payload_too_large` of an answer (a zip too large to build), 422 `unprocessable`. Documented in
   * OpenAPI; each function's README row names them.
   */
  readonly alsoAnswers?: readonly (200 | 201 | 207 | 403 | 404 | 409 | 410 | 413 | 422)[];
  /** Schema of the success body (JSON); documented in OpenAPI and checked by the e2e route test. */
  readonly response?: TSchema;
  /** Success body media types when not JSON (files, streams). */
  readonly produces?: readonly string[];
  /** Long-lived response (Server-Sent Events): the edge does not buffer it. */
  readonly stream?: boolean;
  /** An example request body (OpenAPI). */
  readonly example?: unknown;
}

/** A function's routes, keyed by operation id (`listAnime`, `putRating`). */
export type ApiTable = Readonly<Record<string, RouteSpec>>;

/** Declare a table with its literal types kept (so access and schemas can type the handlers). */
export function defineApi<const T extends ApiTable>(table: T): T {
  return table;
}

type ParamsOf<P extends string> = P extends `${string}:${infer Name}/${infer Rest}`
  ? { readonly [K in Name]: string } & ParamsOf<`/${Rest}`>
  : P extends `${string}:${infer Name}`
    ? { readonly [K in Name]: string }
    : Readonly<Record<never, string>>;

type BodyOf<S> = S extends { readonly body: infer B extends TSchema } ? Static<B> : undefined;
type QueryOf<S> = S extends { readonly query: infer Q extends TSchema } ? Static<Q> : Record<string, string>;
type IdentityOf<S> = S extends { readonly access: 'user' | { readonly roles: readonly string[] } }
  ? Identity
  : Identity | undefined;

/** What a handler of route `S` receives: body and query of its schemas' types, params of its path. */
export type ContextOf<S extends RouteSpec> = Omit<
  RequestContext<BodyOf<S>, QueryOf<S>>,
  'identity' | 'params'
> & {
  readonly params: ParamsOf<S['path']>;
  /** Non-optional where the route needs a user (the pipeline answered 401/403 otherwise). */
  readonly identity: IdentityOf<S>;
};

export type Handler<S extends RouteSpec> = (
  ctx: ContextOf<S>,
) => Promise<Reply | undefined> | Reply | undefined;

/** One handler per declared route: a missing or extra one is a type error. */
export type Handlers<T extends ApiTable> = { readonly [K in keyof T]: Handler<T[K]> };

/** The runtime route of one declaration and its handler. */
export function routeOf<S extends RouteSpec>(spec: S, handle: Handler<S>): AnyRoute {
  return {
    method: spec.method,
    path: spec.path,
    access: spec.access,
    body: spec.body,
    query: spec.query,
    raw: spec.raw,
    bodyLimit: spec.bodyLimit,
    // The one place the typed context meets the untyped pipeline: createHttpFunction validated body and
    // query against these schemas and enforced `access` before calling it.
    handle: handle as unknown as AnyRoute['handle'],
  };
}

/**
 * Bind a table to its handlers.
 * @example implement(CatalogApi, { listAnime: async (ctx) => ({ body: await list(ctx.query) }), … })
 */
export function implement<T extends ApiTable>(table: T, handlers: Handlers<T>): AnyRoute[] {
  return Object.keys(table).map((id) => {
    const spec = table[id] as RouteSpec;
    return routeOf(spec, handlers[id as keyof T] as Handler<RouteSpec>);
  });
}
