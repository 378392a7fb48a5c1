import { join } from 'node:path';

const here = import.meta.dirname;

/** What the edge config is rendered from: the functions it routes to, upstreams, limits, targets. */
/** The functions the edge routes to (their Knative Service names). */
export const EDGE_FUNCTIONS = [
  'edge-auth',
  'catalog',
  'rate-anime',
  'library',
  'subtitles',
  'upload-subtitle',
  'notifications',
  'groups',
  'integrator-ingress',
] as const;
export type EdgeFunction = (typeof EDGE_FUNCTIONS)[number];

/** Where nginx reaches something: `host:port`, and the Host header to send (default: nginx's own). */
export interface Upstream {
  readonly address: string;
  readonly host?: string;
}

export interface Limit {
  /** Sustained requests per second. */
  readonly rate: number;
  /** Requests above the rate answered at once before 429 starts. */
  readonly burst: number;
}

export interface EdgeOptions {
  readonly target: 'local' | 'cluster';
  /** Public domain: site at <domain>, then api., events., auth. */
  readonly domain: string;
  readonly listen: { readonly address?: string; readonly https: number; readonly http: number };
  /** Port clients see for HTTPS (redirects and the site origin); 443 = none in URLs. */
  readonly publicHttpsPort: number;
  /** Runtime folder: pid, logs, temp files, auth cache. */
  readonly prefix: string;
  readonly logs?: string;
  readonly tls: { readonly certificate: string; readonly key: string };
  /** nginx/edge.js. */
  readonly js: string;
  readonly jsModule: string;
  /** `user` directive (only meaningful when the master runs as root). */
  readonly user?: string;
  readonly workers: number | 'auto';
  readonly functions: Readonly<Record<EdgeFunction, Upstream>>;
  /** Keycloak; with `resolver`, resolved at run time (cluster DNS names). */
  readonly keycloak: Upstream & { readonly resolver?: string };
  /** Static site files (served when no `site` upstream is given). */
  readonly siteRoot: string;
  /** The site's SSR server (Astro, site/): when given, isekai.<domain> is proxied to it. */
  readonly site?: Upstream;
  /** The identity provider's origin as browsers see it (CSP form-action: sign-out redirects there). */
  readonly identityOrigin?: string;
  readonly acmeRoot: string;
  readonly limits: { readonly perIp: Limit; readonly perToken: Limit };
  /** Seconds nginx keeps a 401/403 from edge-auth (0 = not at all). Positive answers follow X-Accel-Expires. */
  readonly authFailureCacheSeconds: number;
  /** Share of requests without a client traceparent that start a sampled trace. */
  readonly traceSamplePercent: number;
  /** Access-log write buffer (e.g. `64k`, flushed every second); none = a write per request (tests read it). */
  readonly accessLogBuffer?: string;
  /** Cache edge-auth's answers (default true; off only to measure what the cache buys). */
  readonly authCache?: boolean;
}

/** Production defaults for the cloud node (k3s server): see nginx/README.md. */
export function clusterOptions(overrides: Partial<EdgeOptions> = {}): EdgeOptions {
  const knative = (name: EdgeFunction): Upstream => ({
    address: '127.0.0.1:31080',
    host: `${name}.isekai.fn.isekai.dev`,
  });
  return {
    target: 'cluster',
    domain: 'isekai.dev',
    listen: { https: 443, http: 80 },
    publicHttpsPort: 443,
    prefix: '/var/lib/nginx/isekai',
    logs: '/var/log/nginx',
    tls: {
      certificate: '/etc/letsencrypt/live/isekai.dev/fullchain.pem',
      key: '/etc/letsencrypt/live/isekai.dev/privkey.pem',
    },
    js: '/etc/nginx/isekai/edge.js',
    jsModule: '/usr/lib/nginx/modules/ngx_http_js_module.so',
    user: 'www-data',
    workers: 'auto',
    functions: Object.fromEntries(EDGE_FUNCTIONS.map((f) => [f, knative(f)])) as Record<
      EdgeFunction,
      Upstream
    >,
    // The cloud node is the k3s server: it reaches ClusterIPs, and k3s' CoreDNS answers on 10.43.0.10.
    keycloak: { address: 'keycloak.isekai-data.svc.cluster.local:8080', resolver: '10.43.0.10' },
    siteRoot: '/srv/isekai/site',
    site: { address: '127.0.0.1:31080', host: 'site.isekai.fn.isekai.dev' },
    acmeRoot: '/var/www/acme',
    limits: { perIp: { rate: 20, burst: 60 }, perToken: { rate: 10, burst: 30 } },
    authFailureCacheSeconds: 1,
    traceSamplePercent: 10,
    accessLogBuffer: '64k',
    ...overrides,
  };
}

/** Local defaults: `*.isekai.localhost` (browsers resolve it to 127.0.0.1), everything else given. */
export function localOptions(
  given: Pick<EdgeOptions, 'prefix' | 'tls' | 'functions' | 'keycloak' | 'listen'> & Partial<EdgeOptions>,
): EdgeOptions {
  return {
    target: 'local',
    domain: 'isekai.localhost',
    publicHttpsPort: given.listen.https,
    js: join(here, 'edge.js'),
    jsModule: '/usr/lib/nginx/modules/ngx_http_js_module.so',
    workers: 1,
    siteRoot: join(here, '..', 'site', 'dist'),
    acmeRoot: join(given.prefix, 'acme'),
    limits: { perIp: { rate: 50, burst: 200 }, perToken: { rate: 20, burst: 60 } },
    authFailureCacheSeconds: 1,
    traceSamplePercent: 100,
    ...given,
  };
}

// ---------------------------------------------------------------------------------------------------
