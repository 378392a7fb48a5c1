/**
 * The API client: the site calls the functions through the edge like any other client, server-side,
 * with the viewer's access token in the Authorization header. Problems (RFC 9457) become `ApiProblem`s
 * carrying the API's stable code and field errors, which pages turn into friendly messages.
 */

import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { Problem } from '../../../functions/lib/problem.ts';

/** An answer of the API that is not a success: its status, code and field errors. */
export class ApiProblem extends Error {
  override readonly name = 'ApiProblem';
  readonly status: number;
  readonly code: string;
  readonly errors: readonly { field: string; message: string }[];
  constructor(status: number, problem: Partial<Problem>) {
    super(problem.detail ?? problem.title ?? `API answered ${status}`);
    this.status = status;
    this.code = problem.code ?? (status === 404 ? 'not_found' : 'internal');
    this.errors = problem.errors ?? [];
  }
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface ApiRequest {
  readonly method?: string;
  /** Path and query, e.g. `/anime?q=frieren`. */
  readonly path: string;
  readonly token?: string | undefined;
  readonly json?: unknown;
  readonly body?: Buffer;
  readonly contentType?: string;
  readonly accept?: string;
  readonly traceparent?: string | undefined;
  /** Socket idle timeout for this request (ms); the client's default (15 s) otherwise. */
  readonly timeoutMs?: number;
}

export interface Api {
  /** One request; any status comes back (no throw on 4xx/5xx). */
  send(req: ApiRequest): Promise<ApiResponse>;
  /** One request whose body is read as it arrives (e.g. NDJSON progress); any status comes back. */
  stream(req: ApiRequest): Promise<IncomingMessage>;
  /** JSON of a 2xx answer, else throws ApiProblem. */
  json<T>(req: ApiRequest): Promise<T>;
}

/**
 * `*.localhost` names are loopback (RFC 6761 §6.3) — browsers resolve them so; glibc does not, so the
 * client does it itself. Everything else goes to the system resolver.
 */
export const loopbackLookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === 'localhost' || hostname.endsWith('.localhost')) {
    const address: LookupAddress = { address: '127.0.0.1', family: 4 };
    if ((options as { all?: boolean }).all)
      (callback as (e: null, a: LookupAddress[]) => void)(null, [address]);
    else callback(null, address.address, address.family);
    return;
  }
  dnsLookup(hostname, options, callback);
};

/** An API client for `baseUrl` (keep-alive connections; `ca` trusted in addition to the system's). */
export function createApi(options: { baseUrl: string; ca?: string | undefined; timeoutMs?: number }): Api {
  const base = new URL(options.baseUrl);
  const secure = base.protocol === 'https:';
  const agent = secure
    ? new HttpsAgent({ keepAlive: true, lookup: loopbackLookup, ...(options.ca ? { ca: options.ca } : {}) })
    : new HttpAgent({ keepAlive: true, lookup: loopbackLookup });
  const timeout = options.timeoutMs ?? 15_000;

  function open(req: ApiRequest): Promise<IncomingMessage> {
    const url = new URL(req.path, base);
    const body = req.json === undefined ? req.body : Buffer.from(JSON.stringify(req.json));
    const headers: Record<string, string> = { accept: req.accept ?? 'application/json' };
    if (req.token) headers.authorization = `Bearer ${req.token}`;
    if (req.traceparent) headers.traceparent = req.traceparent;
    if (body) {
      headers['content-type'] =
        req.json === undefined ? (req.contentType ?? 'application/octet-stream') : 'application/json';
      headers['content-length'] = String(body.length);
    }
    const call = secure ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const idle = req.timeoutMs ?? timeout;
      const outgoing = call(url, { method: req.method ?? 'GET', headers, agent, timeout: idle }, resolve);
      outgoing.on('timeout', () =>
        outgoing.destroy(new Error(`API timeout after ${idle} ms: ${url.pathname}`)),
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  async function send(req: ApiRequest): Promise<ApiResponse> {
    const res = await open(req);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) };
  }

  return {
    send,
    stream: open,
    async json<T>(req: ApiRequest): Promise<T> {
      const res = await send(req);
      if (res.status >= 200 && res.status < 300)
        return (res.body.length ? JSON.parse(res.body.toString('utf8')) : undefined) as T;
      throw problemOf(res);
    },
  };
}

/** The ApiProblem of a failed answer (problem+json when the API or the edge sent one). */
export function problemOf(res: ApiResponse): ApiProblem {
  let parsed: Partial<Problem> = {};
  if (/json/.test(String(res.headers['content-type'] ?? ''))) {
    try {
      parsed = JSON.parse(res.body.toString('utf8')) as Partial<Problem>;
    } catch {
      parsed = {};
    }
  }
  return new ApiProblem(res.status, parsed);
}

/** A query string from defined values only (`?a=1&b=x`, or '' when none). */
export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params))
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}
