import { join } from 'node:path';
import { EDGE_FUNCTIONS, type EdgeFunction, localOptions } from '../../nginx/render.ts';
import { nginxInstalled, selfSignedCert, startEdge as startNginx } from '../../nginx/run.ts';
import { functionPort } from './ports.ts';

const root = new URL('../..', import.meta.url).pathname;

export interface StackEdge {
  /** The API through the edge, e.g. https://api.isekai.localhost:8100 (browsers resolve *.localhost). */
  readonly url: string;
  /** The site, e.g. https://isekai.localhost:8100. */
  readonly siteUrl: string;
  /** The self-signed certificate to trust (curl --cacert). */
  readonly certificate: string;
  stop(): Promise<void>;
}

/**
 * nginx in front of the local stack (nginx/render.ts, `local` target): TLS with a self-signed
 * certificate for *.isekai.localhost under .tmp/nginx-stack/, auth through edge-auth, routes to the
 * functions' local ports (`functionPorts`, else scripts/stack/ports.ts), auth.isekai.localhost → the OIDC
 * provider. Returns undefined when nginx or its njs module is not installed (the stack runs without it).
 * @example const edge = await startEdge({ functionPorts, oidcUrl: env.OIDC_ISSUER, port: PORTS.edge });
 */
export async function startEdge(options: {
  functionPorts: Partial<Record<string, number>>;
  /** Issuer or base URL of Keycloak / the embedded provider; only its origin is used. */
  oidcUrl: string;
  /** HTTPS port; plain HTTP (redirects) listens on port + 80. */
  port: number;
  /** The site's local port: isekai.localhost is proxied to it (else static files from site/dist). */
  sitePort?: number;
}): Promise<StackEdge | undefined> {
  if (!nginxInstalled()) return undefined;
  const prefix = join(root, '.tmp', 'nginx-stack');
  const tls = await selfSignedCert(prefix, 'isekai.localhost');
  const portOf = (fn: EdgeFunction) => options.functionPorts[fn] ?? functionPort(fn);
  const running = await startNginx(
    localOptions({
      prefix,
      tls,
      listen: { address: '127.0.0.1', https: options.port, http: options.port + 80 },
      functions: Object.fromEntries(
        EDGE_FUNCTIONS.map((fn) => [fn, { address: `127.0.0.1:${portOf(fn)}` }]),
      ) as Record<EdgeFunction, { address: string }>,
      keycloak: { address: new URL(options.oidcUrl).host },
      ...(options.sitePort ? { site: { address: `127.0.0.1:${options.sitePort}` } } : {}),
      // Sign-out redirects the browser to the provider's end-session endpoint (CSP form-action).
      identityOrigin: new URL(options.oidcUrl).origin,
    }),
  );
  return {
    url: `https://api.isekai.localhost:${options.port}`,
    siteUrl: `https://isekai.localhost:${options.port}`,
    certificate: tls.certificate,
    stop: running.stop,
  };
}
