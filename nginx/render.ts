/**
 * Renders nginx/edge.conf.template for one target: `local` (the local stack and tests: functions on local
 * ports) or `cluster` (the cloud node: every function through Kourier's NodePort with its Knative host).
 * `node nginx/render.ts` rewrites nginx/rendered/production.conf (committed; a test checks it is current).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES } from '../functions/edge-auth/policy.ts';
import { docsLocations } from './docs.ts';
import {
  API_ROUTES,
  authClassMaps,
  authenticatedServerHead,
  authLocation,
  EVENTS_ROUTES,
  FORWARDED_HEADERS,
  functionLocations,
  headerVariable,
  upstreams,
} from './locations.ts';
import { clusterOptions, type EdgeOptions } from './options.ts';
import {
  portSuffix,
  problemLocations,
  rateLimitPolicy,
  refuseBadInput,
  securityHeaders,
  siteOrigin,
} from './problems.ts';
import { indent } from './text.ts';

export { API_ROUTES } from './locations.ts';
export * from './options.ts';

const here = import.meta.dirname;

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
    ...refuseBadInput('$edge_api_refusal'),
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
    ...docsLocations(o),
    ...functionLocations(o, API_ROUTES, 'api', 'listed'),
    'location / {',
    '  return 404;',
    '}',
  ]);
  const events = server(o, `events.${d}`, [
    ...authenticatedServerHead(o, 'events'),
    ...refuseBadInput('$edge_refusal'),
    ...problemLocations('api', o),
    ...authLocation(o, 'events'),
    ...functionLocations(o, EVENTS_ROUTES, 'api', 'all'),
    'location / {',
    '  return 404;',
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
    ...(o.site ? siteProxy(o) : siteStatic(o)),
  ]);
  return [api, events, auth, site].join('\n\n');
}

/** The site's session cookie (site/ `SESSION_COOKIE`, default `__Host-isekai-sid`). */
export const SITE_SESSION_COOKIE = '__Host-isekai-sid';

/**
 * The site's SSR server (site/): the public host and scheme forwarded (Astro trusts them for its allowed
 * domains). Anonymous GET/HEADs are cached (zone `site`) for as long as the site's `Cache-Control` allows
 * (`public, max-age=30` on public pages; `private, no-store` and any `Set-Cookie` are never stored). A
 * request carrying the session cookie neither reads nor fills the cache (`proxy_cache_bypass` +
 * `proxy_no_cache`), so the key (scheme, host, URI; the site's `Vary: Cookie` on top) never mixes users.
 * `X-Cache-Status` says HIT / MISS / EXPIRED / BYPASS.
 */
function siteProxy(o: EdgeOptions): string[] {
  const upstream = o.target === 'cluster' ? 'kourier' : 'site';
  return [
    'set $site_session "";',
    `if ($http_cookie ~ "(^|;)\\s*${SITE_SESSION_COOKIE}=") {`,
    '  set $site_session 1;',
    '}',
    'location / {',
    '  proxy_cache site;',
    '  proxy_cache_key "$scheme://$host$request_uri";',
    '  proxy_cache_bypass $site_session;',
    '  proxy_no_cache $site_session;',
    '  proxy_cache_lock on;',
    '  proxy_cache_lock_timeout 2s;',
    '  proxy_cache_use_stale updating;',
    '  add_header X-Cache-Status $upstream_cache_status always;',
    // The import form uploads a MAL export (the library takes up to 16 MiB).
    '  client_max_body_size 17m;',
    `  proxy_pass http://${upstream};`,
    '  proxy_http_version 1.1;',
    `  proxy_set_header Host ${o.site?.host ?? '$http_host'};`,
    '  proxy_set_header Connection "";',
    '  proxy_set_header X-Forwarded-For $remote_addr;',
    '  proxy_set_header X-Forwarded-Proto https;',
    '  proxy_set_header X-Forwarded-Host $http_host;',
    '  proxy_set_header X-Request-Id $request_id;',
    '  proxy_set_header traceparent $edge_traceparent;',
    // The site never takes identity from headers: drop any a client sends.
    '  proxy_set_header X-Auth-User-Id "";',
    '  proxy_set_header X-Auth-User-Name "";',
    '  proxy_set_header X-Auth-Roles "";',
    '  proxy_connect_timeout 2s;',
    '  proxy_read_timeout 60s;',
    ...securityHeaders('site', o).map((l) => `  ${l}`),
    '}',
  ];
}

function siteStatic(o: EdgeOptions): string[] {
  return [
    `root ${o.siteRoot};`,
    // Vite's hashed build output: a changed file gets a new name, so it may be kept for good.
    'location /_astro/ {',
    '  if ($request_method !~ ^(GET|HEAD)$) {',
    '    return 405;',
    '  }',
    '  gzip_static on;',
    ...securityHeaders('site', o).map((l) => `  ${l}`),
    '  add_header Cache-Control "public, max-age=31536000, immutable" always;',
    '}',
    'location / {',
    // Not `limit_except … deny all`: that logs each refusal with its request line (and query) at error level.
    '  if ($request_method !~ ^(GET|HEAD)$) {',
    '    return 405;',
    '  }',
    '  try_files $uri $uri/index.html =404;',
    ...securityHeaders('site', o).map((l) => `  ${l}`),
    '}',
  ];
}

/**
 * nginx map lines: the `$auth_class` values whose rule lets a request without a token pass (`anonymous`,
 * and `optional`, which judges only a token that is sent).
 */
export function anonymousRules(): string {
  const open = (kind: string) => kind === 'anonymous' || kind === 'optional';
  return RULES.flatMap((rule, index) => (open(rule.need.kind) ? [`    rule${index} 1;`] : [])).join('\n');
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
    authClassMaps: authClassMaps([...API_ROUTES, ...EVENTS_ROUTES]),
    anonymousRules: anonymousRules(),
    forwardedHeaderValues: FORWARDED_HEADERS.map(headerVariable).join(''),
    upstreams: upstreams(o),
    httpListen: listen(o.listen.http),
    httpsListen: listen(o.listen.https),
    httpsPortSuffix: portSuffix(o),
    acmeRoot: o.acmeRoot,
    servers: servers(o),
    rateLimitAnonymous: rateLimitPolicy(o).anonymous,
    rateLimitWithToken: rateLimitPolicy(o).withToken,
    bareProblems: indent(problemLocations('bare', o).join('\n'), 4),
  };
  return template.replace(/\{\{(\w+)\}\}/g, (_m, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`nginx/render.ts: no value for {{${key}}}`);
    return value;
  });
}

/** Folders nginx needs under the prefix before it starts. */
export const PREFIX_DIRS = ['logs', 'tmp', 'auth-cache', 'site-cache', 'acme'];

export const PRODUCTION_CONFIG = join(here, 'rendered', 'production.conf');

if (import.meta.main) {
  writeFileSync(PRODUCTION_CONFIG, renderEdgeConfig(clusterOptions()));
  process.stdout.write(`wrote ${PRODUCTION_CONFIG}\n`);
}
