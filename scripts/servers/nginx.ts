import { rm } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { join, resolve } from 'node:path';
import { EDGE_FUNCTIONS, type EdgeFunction, type EdgeOptions, localOptions } from '../../nginx/render.ts';
import { type RunningEdge, selfSignedCert, startEdge } from '../../nginx/run.ts';
import { freePort } from './harness.ts';

/**
 * The real nginx edge for tests: nginx/edge.conf.template rendered for the `local` target into
 * <repo>/.tmp/nginx-<id>/ (self-signed certificate for *.isekai.localhost), started on ports of our own
 * (free ones unless given), functions on the ports the test serves them on.
 * Not part of global-setup: edge tests start it in beforeAll and stop it in afterAll.
 */

const REPO = resolve(import.meta.dirname, '../..');
export const TEST_DOMAIN = 'isekai.localhost';

export interface TestEdgeOptions {
  /** Port per function; functions not listed go to `defaultPort`. */
  readonly functions: Partial<Record<EdgeFunction, number>>;
  readonly defaultPort: number;
  /** Keycloak (or the embedded provider) base URL, e.g. http://127.0.0.1:48080. */
  readonly keycloakUrl: string;
  readonly https?: number;
  readonly http?: number;
  readonly overrides?: Partial<EdgeOptions>;
  /** Pin nginx to a core (benchmarks). */
  readonly cpu?: number;
}

export interface TestEdge extends RunningEdge {
  readonly port: number;
  readonly httpPort: number;
  /** The self-signed certificate (PEM), to trust it as a CA. */
  readonly ca: string;
  readonly options: EdgeOptions;
}

export async function startTestEdge(id: string, options: TestEdgeOptions): Promise<TestEdge> {
  const prefix = join(REPO, '.tmp', `nginx-${id}`);
  const tls = await selfSignedCert(prefix, TEST_DOMAIN);
  // Free ports unless given: fixed ones inside the ephemeral range (32768–60999) can be taken by any
  // outgoing connection on this shared machine.
  const https = options.https ?? (await freePort());
  const http = options.http ?? (await freePort());
  const hostPort = (url: string) => new URL(url).host;
  const edgeOptions = localOptions({
    prefix,
    tls,
    listen: { address: '127.0.0.1', https, http },
    functions: Object.fromEntries(
      EDGE_FUNCTIONS.map((f) => [f, { address: `127.0.0.1:${options.functions[f] ?? options.defaultPort}` }]),
    ) as Record<EdgeFunction, { address: string }>,
    keycloak: { address: hostPort(options.keycloakUrl) },
    siteRoot: join(prefix, 'site'),
    ...options.overrides,
  });
  // A fresh access log, auth cache and site cache per start (tests read the log).
  await rm(join(prefix, 'logs'), { recursive: true, force: true });
  await rm(join(prefix, 'auth-cache'), { recursive: true, force: true });
  await rm(join(prefix, 'site-cache'), { recursive: true, force: true });
  const running = await startEdge(edgeOptions, options.cpu === undefined ? {} : { cpu: options.cpu });
  return { ...running, port: https, httpPort: http, ca: tls.pem, options: edgeOptions };
}

export interface EdgeResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
  /** The body's bytes as received (not decompressed). */
  readonly raw: Buffer;
  json<T = Record<string, unknown>>(): T;
}

/**
 * One HTTPS request to the edge as a browser would send it: SNI and Host `<sub>.isekai.localhost`,
 * the edge's certificate trusted, a fresh connection (no agent).
 * @example const res = await edgeRequest(edge, 'api', { path: '/anime', headers: { authorization } });
 */
export function edgeRequest(
  edge: TestEdge,
  sub: 'api' | 'events' | 'auth' | '',
  init: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<EdgeResponse> {
  const host = sub === '' ? TEST_DOMAIN : `${sub}.${TEST_DOMAIN}`;
  return new Promise((resolvePromise, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: edge.port,
        servername: host,
        ca: edge.ca,
        agent: false,
        method: init.method ?? 'GET',
        path: init.path,
        headers: {
          host,
          ...(init.body === undefined || init.headers?.['transfer-encoding']
            ? {}
            : { 'content-length': String(Buffer.byteLength(init.body)) }),
          ...init.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const body = raw.toString('utf8');
          resolvePromise({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body,
            raw,
            json: <T>() => JSON.parse(body) as T,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}
