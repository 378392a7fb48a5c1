import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { TSchema } from 'typebox';
import type { Logger } from '../logger.ts';

export type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who is calling, from a verified token (never from client-supplied headers). */
export interface Identity {
  readonly sub: string;
  readonly username: string;
  readonly name?: string | undefined;
  readonly email?: string | undefined;
  readonly roles: readonly string[];
  /** The OAuth client the token was issued to (`azp`, else RFC 9068 `client_id`), spelled as registered. */
  readonly clientId?: string | undefined;
  /**
   * True for a token of the client-credentials grant (a machine, not a person): the
   * `service-account-<client>` username, or a `client_id` claim. `user` routes refuse them
   * (`functions/lib/auth/people.ts`).
   */
  readonly serviceAccount?: boolean | undefined;
  /** Seconds since epoch when the token expires. */
  readonly exp: number;
}

/**
 * Verifies the request's credentials; undefined when none were sent (may be answered at once, without a
 * promise), throws or rejects with Unauthenticated when bad.
 */
export type Authenticator = (req: IncomingMessage) => Identity | undefined | Promise<Identity | undefined>;

/** Who may call a route: anyone, anyone (identity used if present), any signed-in user, or given roles. */
export type Access = 'public' | 'optional' | 'user' | { readonly roles: readonly string[] };

export interface RequestContext<Body = unknown, Query = Record<string, string>> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly url: URL;
  /** The path's parameters: the router's strings, or converted by the route's `params` schema. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: Query;
  /** The validated JSON body (routes with a `body` schema) or undefined. */
  readonly body: Body;
  /** The raw body bytes, read with the route's limit (routes with `raw: true`). */
  readonly raw: Buffer | undefined;
  readonly identity: Identity | undefined;
  readonly log: Logger;
}

/** What a handler returns; `undefined` when it wrote the response itself (streams, SSE). */
export interface Reply {
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** Objects are sent as JSON; strings and Buffers as they are; Readables are piped. */
  readonly body?: unknown;
}

export interface Route<Body = unknown, Query = Record<string, string>> {
  readonly method: Method | readonly Method[];
  /** find-my-way path: `/anime/:id`, `/seasons/:year/:season`. */
  readonly path: string;
  readonly access?: Access;
  /** JSON body schema; the body must be application/json and valid. */
  readonly body?: TSchema;
  /** Query schema (values converted from strings); unknown parameters are rejected. */
  readonly query?: TSchema;
  /** Path parameters schema (`http/params.ts`): a value of the wrong shape is a 400 naming `/path/<name>`. */
  readonly params?: TSchema;
  /** Read the body as raw bytes instead of JSON (uploads, XML imports). */
  readonly raw?: boolean;
  /** Maximum request body in bytes (default 64 KiB). */
  readonly bodyLimit?: number;
  handle(ctx: RequestContext<Body, Query>): Promise<Reply | undefined> | Reply | undefined;
}

export type AnyRoute = Route<never, never>;

/** A body that should be streamed. */
export function isReadable(value: unknown): value is Readable {
  return typeof value === 'object' && value !== null && typeof (value as Readable).pipe === 'function';
}
