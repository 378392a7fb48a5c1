/**
 * Renders nginx/edge.conf.template for one target: `local` (the local stack and tests: functions on local
 * ports) or `cluster` (the cloud node: every function through Kourier's NodePort with its Knative host).
 * `node nginx/render.ts` rewrites nginx/rendered/production.conf (committed; a test checks it is current).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../functions/edge-auth/policy.ts';
import { type ErrorCode, IsekaiError } from '../functions/lib/errors.ts';
import { toProblem } from '../functions/lib/problem.ts';

const here = import.meta.dirname;

/** The functions the edge routes to (their Knative Service names). */
export const EDGE_FUNCTIONS = [
  'edge-auth',
  'catalog',
  'rate-anime',
  'library',
  'subtitles',
  'upload-subtitle',
  'notifications',
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
  /** Static site files. */
  readonly siteRoot: string;
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

const KIB = 1024;
const MIB = 1024 * KIB;

interface ApiRoute {
  /** nginx location argument. */
  readonly location: string;
  readonly fn: EdgeFunction;
  readonly bodyLimit?: number;
  /** Long-lived responses (SSE / WebSocket): no buffering, long read timeout, Upgrade passed on. */
  readonly stream?: boolean;
}

/** api.<domain>: public paths → functions (paths are passed on unchanged). */
export const API_ROUTES: readonly ApiRoute[] = [
  { location: '~ ^/anime/[^/]+/(rating|episodes|reviews)(/|$)', fn: 'rate-anime' },
  { location: '= /anime', fn: 'catalog' },
  { location: '/anime/', fn: 'catalog' },
  { location: '/seasons/', fn: 'catalog' },
  { location: '/library/', fn: 'library' },
  { location: '= /subtitles', fn: 'subtitles' },
  { location: '/subtitles/', fn: 'subtitles' },
  { location: '= /uploads', fn: 'upload-subtitle', bodyLimit: 16 * MIB },
  { location: '/uploads/', fn: 'upload-subtitle', bodyLimit: 16 * MIB },
  { location: '= /notifications/stream', fn: 'notifications', stream: true },
  { location: '= /notifications', fn: 'notifications' },
  { location: '/notifications/', fn: 'notifications' },
];

/** Errors nginx itself answers, as problem+json with the codes of functions/lib/errors.ts. */
const NGINX_ERRORS: readonly { status: number; code: ErrorCode; detail: string; as?: number }[] = [
  { status: 400, code: 'validation_failed', detail: 'the request could not be parsed' },
  { status: 401, code: 'unauthenticated', detail: 'a valid bearer token is required' },
  { status: 403, code: 'forbidden', detail: 'your roles do not allow this request' },
  { status: 404, code: 'not_found', detail: 'no such route' },
  { status: 413, code: 'payload_too_large', detail: 'the request body exceeds the limit of this route' },
  { status: 429, code: 'rate_limited', detail: 'too many requests; retry after the given seconds' },
  // nginx answers 500 when the auth subrequest fails (edge-auth down or erroring): a dependency.
  { status: 500, as: 503, code: 'dependency_unavailable', detail: 'identity check unavailable' },
  { status: 502, code: 'dependency_unavailable', detail: 'the upstream function is unavailable' },
  { status: 503, code: 'dependency_unavailable', detail: 'the upstream function is unavailable' },
  { status: 504, code: 'dependency_unavailable', detail: 'the upstream function timed out' },
];

/** A stand-in error so titles come from functions/lib/problem.ts (one source for every problem). */
class EdgeProblem extends IsekaiError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, detail: string) {
    super(detail);
    this.code = code;
  }
}

function problemBody(status: number, code: ErrorCode, detail: string): string {
  const { type, title } = toProblem(new EdgeProblem(code, detail));
  // `$problem_instance` is already a JSON string (nginx/edge.js).
  return `{"type":"${type}","title":"${title}","status":${status},"code":"${code}","detail":"${detail}","instance":$problem_instance}`;
}

type HeaderKind = 'api' | 'site' | 'auth';

function securityHeaders(kind: HeaderKind, o: EdgeOptions): string[] {
  const lines = [
    'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;',
    'add_header X-Content-Type-Options nosniff always;',
    'add_header X-Request-Id $request_id always;',
  ];
  if (kind === 'auth') {
    // Keycloak sets its own CSP / frame options (its login pages frame themselves).
    lines.push('add_header Referrer-Policy strict-origin-when-cross-origin always;');
    return lines;
  }
  lines.push('add_header X-Frame-Options DENY always;');
  if (kind === 'site') {
    lines.push(
      'add_header Referrer-Policy strict-origin-when-cross-origin always;',
      `add_header Content-Security-Policy "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self'; connect-src 'self' https://api.${o.domain}${portSuffix(o)} https://auth.${o.domain}${portSuffix(o)}; form-action 'self' https://auth.${o.domain}${portSuffix(o)}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'" always;`,
    );
  } else {
    lines.push(
      'add_header Referrer-Policy no-referrer always;',
      `add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;`,
      'add_header Access-Control-Allow-Origin $cors_origin always;',
      'add_header Vary Origin always;',
    );
  }
  return lines;
}

function problemLocations(kind: HeaderKind, o: EdgeOptions): string[] {
  const out: string[] = [];
  const pages = NGINX_ERRORS.map(
    (e) => `error_page ${e.status} ${e.as ? `=${e.as} ` : ''}@problem_${e.status};`,
  );
  out.push(...pages);
  for (const e of NGINX_ERRORS) {
    const status = e.as ?? e.status;
    const extra: string[] = [];
    // 401: nginx's auth_request copies edge-auth's WWW-Authenticate itself (adding it would duplicate it).
    if (status === 429) extra.push('add_header Retry-After 1 always;');
    if (status === 503 || status === 502 || status === 504) extra.push('add_header Retry-After 5 always;');
    out.push(
      `location @problem_${e.status} {`,
      '  default_type application/problem+json;',
      ...securityHeaders(kind, o).map((l) => `  ${l}`),
      ...extra.map((l) => `  ${l}`),
      `  return ${status} '${problemBody(status, e.code, e.detail)}';`,
      '}',
    );
  }
  return out;
}

function portSuffix(o: EdgeOptions): string {
  return o.publicHttpsPort === 443 ? '' : `:${o.publicHttpsPort}`;
}

function siteOrigin(o: EdgeOptions): string {
  return `https://${o.domain}${portSuffix(o)}`;
}

const upstreamName = (fn: string) => `fn_${fn.replaceAll('-', '_')}`;

function upstreams(o: EdgeOptions): string {
  const blocks = new Map<string, string>();
  for (const fn of EDGE_FUNCTIONS) {
    const { address } = o.functions[fn];
    const name = o.target === 'cluster' ? 'kourier' : upstreamName(fn);
    if (!blocks.has(name))
      blocks.set(
        name,
        [
          `upstream ${name} {`,
          `  server ${address};`,
          '  keepalive 64;',
          '  keepalive_timeout 60s;',
          '}',
        ].join('\n'),
      );
  }
  if (!o.keycloak.resolver)
    blocks.set('keycloak', `upstream keycloak {\n  server ${o.keycloak.address};\n  keepalive 16;\n}`);
  return indent([...blocks.values()].join('\n'), 2);
}

function upstreamOf(o: EdgeOptions, fn: EdgeFunction): string {
  return o.target === 'cluster' ? 'kourier' : upstreamName(fn);
}

function hostHeader(o: EdgeOptions, fn: EdgeFunction): string {
  return o.functions[fn].host ?? '$proxy_host';
}

/** The headers every proxied function request gets; client-sent identity headers are replaced. */
function proxyHeaders(o: EdgeOptions, fn: EdgeFunction, stream = false): string[] {
  return [
    'proxy_http_version 1.1;',
    `proxy_set_header Host ${hostHeader(o, fn)};`,
    `proxy_set_header Connection ${stream ? '$connection_upgrade' : '""'};`,
    ...(stream ? ['proxy_set_header Upgrade $http_upgrade;'] : []),
    'proxy_set_header X-Forwarded-For $remote_addr;',
    'proxy_set_header X-Forwarded-Proto https;',
    'proxy_set_header X-Forwarded-Host $host;',
    'proxy_set_header X-Request-Id $request_id;',
    'proxy_set_header traceparent $edge_traceparent;',
    // Set from edge-auth's answer; an empty value drops the header, and a client's copy never passes.
    'proxy_set_header X-Auth-User-Id $auth_user_id;',
    'proxy_set_header X-Auth-User-Name $auth_user_name;',
    'proxy_set_header X-Auth-Roles $auth_roles;',
    'proxy_set_header X-Original-Method "";',
    'proxy_set_header X-Original-URI "";',
    'proxy_set_header X-Original-Host "";',
  ];
}

/** The auth_request target, with its result cache. */
function authLocation(o: EdgeOptions, serverClass: 'api' | 'events'): string[] {
  return [
    'location = /_edge_auth {',
    '  internal;',
    '  auth_request off;',
    // The main request's location enforces the body limit; the subrequest inherits its Content-Length.
    '  client_max_body_size 0;',
    `  proxy_pass http://${upstreamOf(o, 'edge-auth')}/check;`,
    '  proxy_method GET;',
    '  proxy_pass_request_body off;',
    // Without this nginx still sends the client's Content-Length with no body: the upstream then waits
    // for those bytes and reads the next request on the kept-alive connection as them (→ 400).
    '  proxy_set_header Content-Length "";',
    '  proxy_pass_request_headers off;',
    '  proxy_http_version 1.1;',
    `  proxy_set_header Host ${hostHeader(o, 'edge-auth')};`,
    '  proxy_set_header Connection "";',
    '  proxy_set_header Authorization $http_authorization;',
    '  proxy_set_header X-Original-Method $request_method;',
    '  proxy_set_header X-Original-URI $edge_uri;',
    `  proxy_set_header X-Original-Host ${serverClass}.${o.domain};`,
    '  proxy_set_header traceparent $edge_traceparent;',
    '  proxy_connect_timeout 1s;',
    '  proxy_read_timeout 5s;',
    ...(o.authCache === false ? ['  proxy_cache off;'] : authCacheLines(o)),
    '}',
  ];
}

function authCacheLines(o: EdgeOptions): string[] {
  return [
    '  proxy_cache auth;',
    '  proxy_cache_key "$auth_token_hash|$edge_class|$request_method|$auth_class";',
    // Positive answers live as long as edge-auth's X-Accel-Expires says (≤ 30 s, ≤ the token's life);
    // a 200 without it is not cached. Failures: briefly, or not at all.
    ...(o.authFailureCacheSeconds > 0 ? [`  proxy_cache_valid 401 403 ${o.authFailureCacheSeconds}s;`] : []),
    '  proxy_cache_lock on;',
    '  proxy_cache_lock_timeout 2s;',
    '  proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;',
  ];
}

function functionLocation(o: EdgeOptions, route: ApiRoute, kind: HeaderKind): string[] {
  const lines = [
    `location ${route.location} {`,
    '  set $edge_uri $uri;',
    ...(route.bodyLimit ? [`  client_max_body_size ${route.bodyLimit};`] : []),
    `  proxy_pass http://${upstreamOf(o, route.fn)};`,
    ...proxyHeaders(o, route.fn, route.stream).map((l) => `  ${l}`),
    ...securityHeaders(kind, o).map((l) => `  ${l}`),
  ];
  if (route.stream) {
    lines.push(
      '  proxy_buffering off;',
      '  proxy_cache off;',
      '  gzip off;',
      '  proxy_read_timeout 1h;',
      '  proxy_send_timeout 1h;',
    );
  } else {
    lines.push('  proxy_connect_timeout 2s;', '  proxy_read_timeout 60s;');
  }
  lines.push('}');
  return lines;
}

/**
 * Shared head of the api and events servers: limits, auth, identity from the auth answer.
 * `$edge_uri` (the normalised path edge-auth and the cache key judge) is set in each proxying location,
 * never at server level: the auth subrequest reruns server-level `set`s and would overwrite it.
 */
function authenticatedServerHead(o: EdgeOptions, serverClass: 'api' | 'events'): string[] {
  return [
    `set $edge_class ${serverClass};`,
    // The decoded path goes to edge-auth in a header: refuse control characters (header injection).
    'if ($uri ~ "[\\x00-\\x1f\\x7f]") {',
    '  return 400;',
    '}',
    `limit_req zone=per_ip burst=${o.limits.perIp.burst} nodelay;`,
    `limit_req zone=per_token burst=${o.limits.perToken.burst} nodelay;`,
    'auth_request /_edge_auth;',
    'auth_request_set $auth_user_id $upstream_http_x_auth_user_id;',
    'auth_request_set $auth_user_name $upstream_http_x_auth_user_name;',
    'auth_request_set $auth_roles $upstream_http_x_auth_roles;',
    'auth_request_set $auth_cache_status $upstream_cache_status;',
    'auth_request_set $auth_response_time $upstream_response_time;',
  ];
}

function server(o: EdgeOptions, name: string, body: string[]): string {
  return indent(
    [
      'server {',
      `  listen ${o.listen.address ? `${o.listen.address}:` : ''}${o.listen.https} ssl http2;`,
      `  server_name ${name};`,
      ...body.map((l) => `  ${l}`),
      '}',
    ].join('\n'),
    2,
  );
}

function servers(o: EdgeOptions): string {
  const d = o.domain;
  const api = server(o, `api.${d}`, [
    ...authenticatedServerHead(o, 'api'),
    // CORS preflights are answered here, before auth (`return` runs in the rewrite phase).
    'error_page 418 = @preflight;',
    'if ($request_method = OPTIONS) {',
    '  return 418;',
    '}',
    ...problemLocations('api', o),
    ...authLocation(o, 'api'),
    'location @preflight {',
    ...securityHeaders('api', o).map((l) => `  ${l}`),
    '  add_header Access-Control-Allow-Methods "GET, HEAD, POST, PUT, PATCH, DELETE" always;',
    '  add_header Access-Control-Allow-Headers "Authorization, Content-Type, traceparent" always;',
    '  add_header Access-Control-Max-Age 600 always;',
    '  return 204;',
    '}',
    ...API_ROUTES.flatMap((r) => functionLocation(o, r, 'api')),
    'location / {',
    '  return 404;',
    '}',
  ]);
  const events = server(o, `events.${d}`, [
    ...authenticatedServerHead(o, 'events'),
    ...problemLocations('api', o),
    ...authLocation(o, 'events'),
    'location / {',
    '  set $edge_uri $uri;',
    `  proxy_pass http://${upstreamOf(o, 'integrator-ingress')};`,
    ...proxyHeaders(o, 'integrator-ingress').map((l) => `  ${l}`),
    ...securityHeaders('api', o).map((l) => `  ${l}`),
    '  proxy_connect_timeout 2s;',
    '  proxy_read_timeout 30s;',
    '}',
  ]);
  const keycloakPass = o.keycloak.resolver
    ? [`  set $keycloak_upstream http://${o.keycloak.address};`, '  proxy_pass $keycloak_upstream;']
    : ['  proxy_pass http://keycloak;'];
  const auth = server(o, `auth.${d}`, [
    `limit_req zone=per_ip burst=${o.limits.perIp.burst} nodelay;`,
    ...problemLocations('auth', o),
    // The admin console and API stay off the public edge (kubectl port-forward for operators).
    'location ~ ^/(admin|metrics|health)(/|$) {',
    '  return 404;',
    '}',
    'location / {',
    ...keycloakPass,
    '  proxy_http_version 1.1;',
    '  proxy_set_header Host $host;',
    '  proxy_set_header Connection "";',
    '  proxy_set_header X-Forwarded-For $remote_addr;',
    '  proxy_set_header X-Forwarded-Proto https;',
    '  proxy_set_header X-Forwarded-Host $host;',
    `  proxy_set_header X-Forwarded-Port ${o.publicHttpsPort};`,
    '  proxy_set_header X-Request-Id $request_id;',
    '  proxy_set_header traceparent $edge_traceparent;',
    '  proxy_buffer_size 16k;',
    '  proxy_buffers 8 16k;',
    ...securityHeaders('auth', o).map((l) => `  ${l}`),
    '}',
  ]);
  const site = server(o, `${d} www.${d}`, [
    `limit_req zone=per_ip burst=${o.limits.perIp.burst} nodelay;`,
    ...problemLocations('site', o),
    `root ${o.siteRoot};`,
    'location / {',
    '  limit_except GET {',
    '    deny all;',
    '  }',
    '  try_files $uri $uri/index.html =404;',
    ...securityHeaders('site', o).map((l) => `  ${l}`),
    '}',
  ]);
  return [api, events, auth, site].join('\n\n');
}

/** nginx map lines for functions/edge-auth/policy.ts RULES, in order (first match wins in both). */
export function policyMap(): string {
  return RULES.map((rule, index) => {
    const host = rule.host ?? '[a-z]+';
    const methods = rule.methods ? `(?:${rule.methods.join('|')})` : '[A-Z]+';
    const path = rule.path.source.replace(/^\^/, '');
    return `    "~^${host} ${methods} ${path}" rule${index};`;
  }).join('\n');
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((l) => (l === '' ? l : pad + l))
    .join('\n');
}

/** `$edge_trace_flags`: 01 (sampled) for the given share of new traces (split_clients refuses 0 % / 100 %). */
function traceFlags(percent: number): string {
  if (percent <= 0 || percent >= 100)
    return `  map $request_id $edge_trace_flags {\n    default ${percent <= 0 ? '00' : '01'};\n  }`;
  return `  split_clients $request_id $edge_trace_flags {\n    ${percent}% 01;\n    * 00;\n  }`;
}

/** Render the whole nginx.conf for one target. */
export function renderEdgeConfig(o: EdgeOptions): string {
  const template = readFileSync(join(here, 'edge.conf.template'), 'utf8');
  const listen = (port: number) => `${o.listen.address ? `${o.listen.address}:` : ''}${port}`;
  const values: Record<string, string> = {
    target: o.target,
    user: o.user ? `user ${o.user};` : '# user: the invoking user (no `user` directive)',
    workers: String(o.workers),
    prefix: o.prefix,
    logs: o.logs ?? join(o.prefix, 'logs'),
    jsModule: o.jsModule,
    js: o.js,
    resolver: o.keycloak.resolver ? `  resolver ${o.keycloak.resolver} valid=30s ipv6=off;` : '',
    certificate: o.tls.certificate,
    certificateKey: o.tls.key,
    traceFlags: traceFlags(o.traceSamplePercent),
    accessLogBuffer: o.accessLogBuffer ? ` buffer=${o.accessLogBuffer} flush=1s` : '',
    siteOrigin: siteOrigin(o),
    perIpRate: String(o.limits.perIp.rate),
    perTokenRate: String(o.limits.perToken.rate),
    policyMap: policyMap(),
    upstreams: upstreams(o),
    httpListen: listen(o.listen.http),
    httpsListen: listen(o.listen.https),
    httpsPortSuffix: portSuffix(o),
    acmeRoot: o.acmeRoot,
    servers: servers(o),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`nginx/render.ts: no value for {{${key}}}`);
    return value;
  });
}

/** Folders nginx needs under the prefix before it starts. */
export const PREFIX_DIRS = ['logs', 'tmp', 'auth-cache', 'acme'];

export const PRODUCTION_CONFIG = join(here, 'rendered', 'production.conf');

if (import.meta.main) {
  writeFileSync(PRODUCTION_CONFIG, renderEdgeConfig(clusterOptions()));
  process.stdout.write(`wrote ${PRODUCTION_CONFIG}\n`);
}
