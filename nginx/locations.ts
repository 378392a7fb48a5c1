/** The routes nginx serves and the locations that proxy them: auth_request, function upstreams, streams. */
import {
  bySpecificity,
  type DeclaredRoute,
  declaredRoutes,
  type HostClass,
  pathPattern,
} from '../api/routes.ts';
import { RULES } from '../functions/edge-auth/policy.ts';
import { EDGE_FUNCTIONS, type EdgeFunction, type EdgeOptions } from './options.ts';
import { type HeaderKind, securityHeaders } from './problems.ts';
import { indent } from './text.ts';

export interface ApiRoute {
  /** nginx location argument. */
  readonly location: string;
  /** The route template (`/anime/:id`). */
  readonly path: string;
  readonly fn: EdgeFunction;
  readonly bodyLimit?: number;
  /** Long-lived responses (SSE / WebSocket): no buffering, long read timeout, Upgrade passed on. */
  readonly stream?: boolean;
  /**
   * The methods the function's router answers on this location's paths, in its `Allow` order (HEAD
   * with GET): every declared template of the host that matches them, as find-my-way would try them.
   */
  readonly methods: readonly string[];
  /**
   * `$auth_class` for each of `methods`: `rule<i>`, the first of functions/edge-auth/policy.ts RULES that
   * edge-auth matches for a request this location serves (`authClassOf`).
   */
  readonly authClass: Readonly<Record<string, string>>;
}

const ALLOW_ORDER = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

/** The methods of `routes` (one host) whose template matches the paths of template `path`. */
function methodsOn(path: string, routes: readonly DeclaredRoute[]): string[] {
  // A parameter segment as a value no static segment spells, so only templates taking any value match.
  const concrete = path.replace(/:\w+/g, '~param~');
  const methods = new Set(
    routes.filter((r) => new RegExp(pathPattern(r.path)).test(concrete)).map((r) => r.method as string),
  );
  if (methods.has('GET')) methods.add('HEAD');
  return ALLOW_ORDER.filter((m) => methods.has(m));
}

/**
 * The rule edge-auth's first match picks for `method` on the paths of template `path` on `host`, as
 * `rule<i>`: every RULE is a route template's pattern (or matches any path), and nginx puts a path in the
 * first location, most specific first, whose pattern matches it, so a rule of a more specific template
 * matches no path that reaches this location, and one of this or a less specific template matches all of
 * them. A parameter is tried as a value no static segment spells. scripts/servers/edge-maps.test.ts checks
 * the rendered locations against policy.ts in a real nginx for sample paths of every rule.
 */
export function authClassOf(host: HostClass, method: string, path: string): string {
  const concrete = path.replace(/:\w+/g, '~param~');
  const index = RULES.findIndex(
    (r) =>
      (r.host === undefined || r.host === host) &&
      (r.methods === undefined || r.methods.includes(method)) &&
      r.path.test(concrete),
  );
  if (index < 0) throw new Error(`nginx: no edge-auth rule for ${host} ${method} ${path}`);
  return `rule${index}`;
}

/**
 * api.<domain>: one regex location per declared path (api/routes.ts, the functions' own tables), most
 * specific first, so nginx answers 404 itself for anything no function declares. The largest body limit
 * of the path's methods applies (64 KiB, the server's, when none is declared); paths are passed on
 * unchanged.
 */
export function apiRoutes(
  routes: readonly DeclaredRoute[] = declaredRoutes(),
  host: HostClass = 'api',
): ApiRoute[] {
  const byPath = new Map<string, { fn: EdgeFunction; path: string; bodyLimit?: number; stream?: boolean }>();
  for (const route of routes) {
    if (route.host !== host) continue;
    if (!(EDGE_FUNCTIONS as readonly string[]).includes(route.fn))
      throw new Error(`nginx: ${route.fn} serves ${route.path} but is not in EDGE_FUNCTIONS`);
    const fn = route.fn as EdgeFunction;
    const seen = byPath.get(route.path);
    if (seen && seen.fn !== fn) throw new Error(`nginx: ${route.path} is declared by ${seen.fn} and ${fn}`);
    const limits = [seen?.bodyLimit, route.bodyLimit].filter((n): n is number => n !== undefined);
    byPath.set(route.path, {
      fn,
      path: route.path,
      ...(limits.length > 0 ? { bodyLimit: Math.max(...limits) } : {}),
      ...(seen?.stream || route.stream ? { stream: true } : {}),
    });
  }
  const onHost = routes.filter((r) => r.host === host);
  return [...byPath.values()]
    .sort((a, b) => bySpecificity(a.path, b.path))
    .map(({ path, ...rest }) => {
      const methods = methodsOn(path, onHost);
      return {
        location: `~ ${pathPattern(path)}`,
        path,
        ...rest,
        methods,
        authClass: Object.fromEntries(methods.map((m) => [m, authClassOf(host, m, path)])),
      };
    });
}

const METHOD_LETTERS: Readonly<Record<string, string>> = {
  GET: 'g',
  HEAD: 'h',
  POST: 'p',
  PUT: 'u',
  PATCH: 'a',
  DELETE: 'd',
};

/**
 * How a location sets `$auth_class`: the rule itself when every method it answers has the same one, else
 * the name of a `map $request_method` (`authClassMap`), named by its content so equal ones are one map.
 */
export function authClassSource(route: ApiRoute): string {
  const byRule = new Map<string, string[]>();
  for (const m of route.methods) {
    const rule = route.authClass[m];
    if (rule === undefined) throw new Error(`nginx: no $auth_class for ${m} on ${route.location}`);
    byRule.set(rule, [...(byRule.get(rule) ?? []), m]);
  }
  if (byRule.size === 1) return [...byRule.keys()][0] ?? '';
  // Short (nginx's variables_hash_bucket_size is 64 bytes): `rule0` for GET, HEAD and `rule3` for PUT,
  // DELETE → `$auth_class_0gh_3ud`.
  const letter = (m: string) => METHOD_LETTERS[m] ?? m.toLowerCase();
  return `$auth_class_${[...byRule].map(([rule, ms]) => `${rule.slice(4)}${ms.map(letter).join('')}`).join('_')}`;
}

/**
 * The http-level maps the routes' locations read `$auth_class` from (`authClassSource`); a method the
 * location refuses (405, before auth) has no class, and the auth location refuses an empty one.
 */
export function authClassMaps(routes: readonly ApiRoute[]): string {
  const maps = new Map<string, string>();
  for (const route of routes) {
    const source = authClassSource(route);
    if (!source.startsWith('$') || maps.has(source)) continue;
    maps.set(
      source,
      [
        `  map $request_method ${source} {`,
        ...route.methods.map((m) => `    ${m} ${route.authClass[m]};`),
        '    default "";',
        '  }',
      ].join('\n'),
    );
  }
  return [...maps.values()].join('\n');
}

/** The api server's locations, from the route table. */
export const API_ROUTES: readonly ApiRoute[] = apiRoutes();
/** The events server's locations (integrators), from the route table. */
export const EVENTS_ROUTES: readonly ApiRoute[] = apiRoutes(declaredRoutes(), 'events');

/** Errors nginx itself answers, as problem+json with the codes of functions/lib/errors.ts. */

export const upstreamName = (fn: string) => `fn_${fn.replaceAll('-', '_')}`;

export function upstreams(o: EdgeOptions): string {
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
  if (o.site && o.target !== 'cluster')
    // Node's http server closes idle keep-alive connections after 5 s: nginx must let go first, or a POST
    // (never retried) can land on a connection the site is closing ("upstream prematurely closed").
    blocks.set(
      'site',
      `upstream site {\n  server ${o.site.address};\n  keepalive 32;\n  keepalive_timeout 4s;\n}`,
    );
  if (!o.keycloak.resolver)
    blocks.set('keycloak', `upstream keycloak {\n  server ${o.keycloak.address};\n  keepalive 16;\n}`);
  return indent([...blocks.values()].join('\n'), 2);
}

export function upstreamOf(o: EdgeOptions, fn: EdgeFunction): string {
  return o.target === 'cluster' ? 'kourier' : upstreamName(fn);
}

export function hostHeader(o: EdgeOptions, fn: EdgeFunction): string {
  return o.functions[fn].host ?? '$proxy_host';
}

/**
 * The client's request headers the api server passes on to a function; every other one is dropped (least
 * privilege: a function sees what it reads, and Knative's or Node's parsers never see the rest). Only these
 * values need the control-character check (`$edge_header_refusal`, a `map` in edge.conf.template), so the
 * api server's refusals need no njs. A function that starts reading another request header adds it here.
 * The events server passes every header on (CloudEvents binary mode puts attributes in `ce-*` headers).
 */
export const FORWARDED_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Last-Event-ID'] as const;

/** nginx's variable for a request header: `Last-Event-ID` → `$http_last_event_id`. */
export const headerVariable = (name: string): string => `$http_${name.toLowerCase().replaceAll('-', '_')}`;

/**
 * Which client headers a server passes on: `listed` (api: FORWARDED_HEADERS only) or `all` (events; edge.js
 * `refusal` checks every header value there).
 */
export type HeaderForwarding = 'listed' | 'all';

/** The headers every proxied function request gets; client-sent identity headers are replaced. */
export function proxyHeaders(
  o: EdgeOptions,
  fn: EdgeFunction,
  stream = false,
  forwarding: HeaderForwarding = 'all',
): string[] {
  const clientHeaders =
    forwarding === 'listed'
      ? [
          'proxy_pass_request_headers off;',
          ...FORWARDED_HEADERS.map((h) => `proxy_set_header ${h} ${headerVariable(h)};`),
        ]
      : [
          // Passed on with every other client header: a client's copy must not pass.
          'proxy_set_header X-Original-Method "";',
          'proxy_set_header X-Original-URI "";',
          'proxy_set_header X-Original-Host "";',
        ];
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
    ...clientHeaders,
  ];
}

/** The auth_request target, with its result cache. */
export function authLocation(o: EdgeOptions, serverClass: 'api' | 'events'): string[] {
  return [
    'location = /_edge_auth {',
    '  internal;',
    '  auth_request off;',
    // `$auth_class` is set by the location the request is in (functionLocation); a location that proxies
    // without one must not share cache entries keyed on an empty class: fail closed (auth_request → 500).
    '  if ($auth_class = "") {',
    '    return 500;',
    '  }',
    // The main request's location enforces the body limit; the subrequest inherits its Content-Length.
    '  client_max_body_size 0;',
    // Anonymous on a rule open to everyone (edge.conf.template `$edge_auth_anonymous`, generated from the
    // same RULES edge-auth judges by): edge-auth's answer would be 200 with no identity.
    '  if ($edge_auth_anonymous) {',
    '    return 204;',
    '  }',
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

export function authCacheLines(o: EdgeOptions): string[] {
  return [
    '  proxy_cache auth;',
    '  proxy_cache_key "$auth_token_hash|$edge_class|$request_method|$auth_class";',
    // Positive answers live as long as edge-auth's X-Accel-Expires says (≤ 30 s, ≤ the token's life);
    // a 200 without it is not cached. Failures: briefly, or not at all.
    ...(o.authFailureCacheSeconds > 0 ? [`  proxy_cache_valid 401 403 ${o.authFailureCacheSeconds}s;`] : []),
    '  proxy_cache_lock on;',
    '  proxy_cache_lock_timeout 2s;',
    '  proxy_ignore_headers Cache-Control Expires Set-Cookie Vary;',
    // A hit still reads its file; keep the descriptors open (no open/fstat/close per hit). A replaced
    // file has another inode, which the cache node records, so nginx reopens it.
    '  open_file_cache max=10000 inactive=60s;',
    '  open_file_cache_valid 30s;',
  ];
}

export function functionLocation(
  o: EdgeOptions,
  route: ApiRoute,
  kind: HeaderKind,
  forwarding: HeaderForwarding,
): string[] {
  const lines = [
    `location ${route.location} {`,
    '  set $edge_uri $uri;',
    // A method the function does not answer here is refused before auth (rewrite phase): an anonymous
    // `DELETE /anime/1` is 405 with Allow, as the function would say, not 401. The problem page sends
    // `$edge_allow` as Allow.
    `  set $edge_allow "${route.methods.join(', ')}";`,
    `  if ($request_method !~ ^(${route.methods.join('|')})$) {`,
    '    return 405;',
    '  }',
    // The edge-auth rule this location's paths hit for the method (the auth cache key, anonymous rules):
    // rendered here instead of matched per request against every rule's regex.
    `  set $auth_class ${authClassSource(route)};`,
    ...(route.bodyLimit ? [`  client_max_body_size ${route.bodyLimit};`] : []),
    // The client's request target, non-ASCII bytes percent-encoded (node refuses them raw).
    `  proxy_pass http://${upstreamOf(o, route.fn)}$edge_upstream_uri;`,
    ...proxyHeaders(o, route.fn, route.stream, forwarding).map((l) => `  ${l}`),
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
 * The routes' locations, nested in one prefix location per literal first path segment (`location /anime`):
 * nginx finds that by its prefix tree and tries only its regexes, in order, where a flat list of regex
 * locations ran every earlier one (37 PCRE calls for `GET /anime/1`). The same location wins: a path's
 * first segment picks the one group whose regexes can match it (a longer prefix would need a segment that
 * starts with this one and goes on, which the path's does not), then, as before, the routes whose first
 * segment is a parameter (top level, after every group in the flat order too). A path no regex takes is
 * answered by its group location as by `location /`: 404 (`return` is not inherited by nested locations).
 */
export function functionLocations(
  o: EdgeOptions,
  routes: readonly ApiRoute[],
  kind: HeaderKind,
  forwarding: HeaderForwarding,
): string[] {
  const groups = new Map<string, ApiRoute[]>();
  const top: ApiRoute[] = [];
  for (const route of routes) {
    const first = route.path.split('/')[1] ?? '';
    if (first === '' || first.startsWith(':')) {
      top.push(route);
      continue;
    }
    if (top.length > 0)
      throw new Error(`nginx: ${route.path} comes after a route with no literal first segment`);
    groups.set(first, [...(groups.get(first) ?? []), route]);
  }
  return [
    ...[...groups].flatMap(([first, members]) => [
      `location /${first} {`,
      ...members.flatMap((r) => functionLocation(o, r, kind, forwarding)).map((l) => `  ${l}`),
      '  return 404;',
      '}',
    ]),
    ...top.flatMap((r) => functionLocation(o, r, kind, forwarding)),
  ];
}

/**
 * Shared head of the api and events servers: limits, auth, identity from the auth answer.
 * `$edge_uri` (the normalised path edge-auth and the cache key judge) is set in each proxying location,
 * never at server level: the auth subrequest reruns server-level `set`s and would overwrite it.
 */
export function authenticatedServerHead(o: EdgeOptions, serverClass: 'api' | 'events'): string[] {
  return [
    `set $edge_class ${serverClass};`,
    // The maps that only ask "is there a token?" key on this flag, not on the header (edge.conf.template).
    // `!= ""`, not `if ($http_authorization)`: nginx takes a value of "0" as false.
    'set $edge_token "";',
    'if ($http_authorization != "") {',
    '  set $edge_token 1;',
    '}',
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
