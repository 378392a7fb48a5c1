/** The answers nginx gives itself (RFC 9457 problem+json, same codes as the functions) and its headers. */
import { type ErrorCode, IsekaiError } from '../functions/lib/errors.ts';
import { PROBLEM_BASE, PROBLEM_MEDIA_TYPE, toProblem } from '../functions/lib/problem.ts';
import type { EdgeOptions } from './options.ts';

/**
 * Codes only the edge answers with: failures of HTTP itself, before any function is involved. The rest
 * are the functions' codes (functions/lib/errors.ts), so a client matches one `type` whoever answered.
 */
export type EdgeOnlyCode =
  | 'https_required'
  | 'request_timeout'
  | 'length_required'
  | 'uri_too_long'
  | 'header_too_large'
  | 'transfer_encoding_unsupported'
  | 'http_version_unsupported';
export type EdgeCode = ErrorCode | EdgeOnlyCode;

const EDGE_TITLES: Record<EdgeOnlyCode, string> = {
  https_required: 'HTTPS required',
  request_timeout: 'Request timeout',
  length_required: 'Length required',
  uri_too_long: 'URI too long',
  header_too_large: 'Request header fields too large',
  transfer_encoding_unsupported: 'Transfer-Encoding not supported',
  http_version_unsupported: 'HTTP version not supported',
};

export interface EdgeProblemPage {
  /** Location `/_problem/<name>`. */
  readonly name: string;
  /** The nginx status sent here with `error_page` (none: reached by `rewrite`). */
  readonly from?: number;
  /** The status answered. */
  readonly status: number;
  readonly code: EdgeCode;
  readonly detail: string;
}

const page = (from: number, code: EdgeCode, detail: string, status = from): EdgeProblemPage => ({
  name: String(from),
  from,
  status,
  code,
  detail,
});

/** Every status nginx itself produces, and the problem it becomes. */
export const NGINX_ERRORS: readonly EdgeProblemPage[] = [
  page(400, 'validation_failed', 'the request could not be parsed (request line, URI or a header)'),
  page(401, 'unauthenticated', 'a valid bearer token is required'),
  page(403, 'forbidden', 'your roles do not allow this request'),
  page(404, 'not_found', 'no such route'),
  page(405, 'method_not_allowed', 'this method is not allowed here'),
  page(408, 'request_timeout', 'the request was not received in time'),
  page(411, 'length_required', 'this request needs a Content-Length'),
  page(413, 'payload_too_large', 'the request body exceeds the limit of this route'),
  page(414, 'uri_too_long', 'the request URI is longer than the edge accepts (8 KiB)'),
  page(429, 'rate_limited', 'too many requests; retry after the given seconds'),
  // nginx's own statuses: header or cookie too large (→ 431), plain HTTP sent to the HTTPS port (→ 400).
  page(494, 'header_too_large', 'a request header, or all of them, exceeds the limit of the edge', 431),
  page(497, 'https_required', 'this port speaks HTTPS only: use https://', 400),
  // nginx answers 500 when the auth subrequest fails (edge-auth down or erroring): a dependency.
  page(500, 'dependency_unavailable', 'identity check unavailable', 503),
  // 501 / 505 are what RFC 9112 suggests, but both are a client sending what it should not: a 5xx would
  // page whoever watches the error rate, and retrying cannot help. Answered 400 with their own codes.
  page(501, 'transfer_encoding_unsupported', 'only the chunked Transfer-Encoding is supported', 400),
  page(502, 'dependency_unavailable', 'the upstream function is unavailable'),
  page(503, 'dependency_unavailable', 'the upstream function is unavailable'),
  page(504, 'dependency_unavailable', 'the upstream function timed out'),
  page(
    505,
    'http_version_unsupported',
    'only HTTP/1.0, HTTP/1.1 and HTTP/2 (negotiated by ALPN) are served',
    400,
  ),
];

/**
 * Requests the API refuses on purpose in its server rewrite phase (`rewrite ^ /_problem/<name>? last`:
 * a rewrite, not `return 400`, because the 400 page reruns that phase and would be refused again).
 */
export const REFUSALS = {
  queryCredentials: {
    name: 'query_credentials',
    status: 400,
    code: 'validation_failed',
    detail: 'credentials are not accepted in the query string: send them in the Authorization header',
  },
  headerControl: {
    name: 'header_control',
    status: 400,
    code: 'validation_failed',
    detail: 'a header value contains a control character',
  },
  fragment: {
    name: 'fragment',
    status: 400,
    code: 'validation_failed',
    detail: 'a request target cannot contain a raw # (a fragment stays in the client)',
  },
} as const satisfies Record<string, EdgeProblemPage>;

/** A stand-in error so titles come from functions/lib/problem.ts (one source for every problem). */
class EdgeProblem extends IsekaiError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, detail: string) {
    super(detail);
    this.code = code;
  }
}

function titleOf(code: EdgeCode): string {
  if (code in EDGE_TITLES) return EDGE_TITLES[code as EdgeOnlyCode];
  return toProblem(new EdgeProblem(code as ErrorCode, '')).title;
}

/** The problem+json body of a `return` (nginx string syntax: no quote, backslash or `$` of our own). */
export function problemBody(status: number, code: EdgeCode, detail: string): string {
  const text = `${titleOf(code)} ${detail}`;
  if (/['"\\$]/.test(text)) throw new Error(`nginx/problems.ts: unsafe character in "${text}"`);
  // `$problem_instance` is already a JSON string (nginx/edge.js): the path, never the query.
  return `{"type":"${PROBLEM_BASE}${code}","title":"${titleOf(code)}","status":${status},"code":"${code}","detail":"${detail}","instance":$problem_instance}`;
}

/**
 * Where the headers differ: the API (and events) servers, the static site, Keycloak, and `bare` (the
 * catch-all servers for unknown names and plain HTTP).
 */
export type HeaderKind = 'api' | 'site' | 'auth' | 'bare';

/** The headers the edge adds to every answer of a location of this kind (and hides from its upstream). */
export function securityHeaders(kind: HeaderKind, o: EdgeOptions): string[] {
  const lines = [
    'add_header Strict-Transport-Security "max-age=63072000; includeSubDomains" always;',
    'add_header X-Content-Type-Options nosniff always;',
    'add_header X-Request-Id $request_id always;',
  ];
  if (kind === 'auth') {
    // Keycloak sets its own CSP / frame options (its login pages frame themselves).
    lines.push('add_header Referrer-Policy strict-origin-when-cross-origin always;');
    return withHiddenUpstreamCopies(lines);
  }
  lines.push('add_header X-Frame-Options DENY always;');
  if (kind === 'site') {
    lines.push(
      'add_header Referrer-Policy strict-origin-when-cross-origin always;',
      `add_header Content-Security-Policy "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: https:; font-src 'self'; connect-src 'self' https://api.${o.domain}${portSuffix(o)} https://auth.${o.domain}${portSuffix(o)}; form-action 'self' ${o.identityOrigin ?? `https://auth.${o.domain}${portSuffix(o)}`}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'" always;`,
    );
  } else {
    lines.push(
      'add_header Referrer-Policy no-referrer always;',
      `add_header Content-Security-Policy "default-src 'none'; frame-ancestors 'none'" always;`,
    );
  }
  if (kind === 'api')
    lines.push(
      'add_header Access-Control-Allow-Origin $cors_origin always;',
      'add_header Vary Origin always;',
      // The limits of this server (IETF httpapi ratelimit-headers draft), on every answer.
      'add_header RateLimit-Policy $ratelimit_policy always;',
    );
  return withHiddenUpstreamCopies(lines);
}

/**
 * The edge owns these headers: an upstream's own copy (a function's nosniff, Keycloak's HSTS) is hidden,
 * so each is sent once. `Vary` is a list both may add to, so it is kept.
 */
function withHiddenUpstreamCopies(lines: string[]): string[] {
  const hidden = lines
    .map((l) => /^add_header ([\w-]+) /.exec(l)?.[1])
    .filter((h): h is string => h !== undefined && h !== 'Vary')
    .map((h) => `proxy_hide_header ${h};`);
  return [...lines, ...hidden];
}

/** `RateLimit-Policy` items for the limits (the per-token one only applies with an Authorization header). */
export function rateLimitPolicy(o: EdgeOptions): { anonymous: string; withToken: string } {
  const item = (name: string, l: { rate: number; burst: number }) =>
    `"${name}";q=${l.rate};w=1;isekai-burst=${l.burst}`;
  const ip = item('per-ip', o.limits.perIp);
  return { anonymous: ip, withToken: `${ip}, ${item('per-token', o.limits.perToken)}` };
}

/**
 * `error_page` for every status nginx produces and the internal locations answering them. The pages are
 * URIs, not named locations: a request whose URI did not parse (`/anime/%00`) has no URI, and nginx can
 * only send such a request to a named location as a 500. `Retry-After` and `RateLimit` come from maps
 * on `$status` (edge.conf.template): empty, and so not sent, for the other statuses.
 */
export function problemLocations(kind: HeaderKind, o: EdgeOptions): string[] {
  const pages = kind === 'api' ? [...NGINX_ERRORS, ...Object.values(REFUSALS)] : NGINX_ERRORS;
  return [
    ...NGINX_ERRORS.map(
      // `=`: the status is the page's own, never the one that led there. The server rewrite phase reruns
      // for the page, and may refuse it instead (a 405 with a bad header is answered as that 400).
      (p) => `error_page ${p.from} = /_problem/${p.name};`,
    ),
    'location ^~ /_problem/ {',
    '  internal;',
    '  auth_request off;',
    // Not counted again (the request already was, or failed before the limits ran).
    '  limit_req zone=edge_unlimited;',
    `  default_type ${PROBLEM_MEDIA_TYPE};`,
    // Over HTTP/2, nginx 1.22 leaves r->discard_body unset when it refuses a large body, so the size check
    // would run again for this page and answer its built-in HTML 413 (ngx_http_core_find_config_handler).
    '  client_max_body_size 0;',
    ...securityHeaders(kind, o).map((l) => `  ${l}`),
    '  add_header Retry-After $edge_retry_after always;',
    // 401: nginx's auth_request copies edge-auth's WWW-Authenticate itself (adding it would duplicate it).
    ...(kind === 'api'
      ? [
          '  add_header RateLimit $ratelimit_spent always;',
          // A route's 405 (nginx/locations.ts sets $edge_allow); empty, so not sent, for any other page.
          '  add_header Allow $edge_allow_header always;',
          '  uninitialized_variable_warn off;',
        ]
      : []),
    ...pages.flatMap((p) => [
      `  location = /_problem/${p.name} {`,
      '    internal;',
      `    return ${p.status} '${problemBody(p.status, p.code, p.detail)}';`,
      '  }',
    ]),
    '}',
  ];
}

/**
 * API and events server head (rewrite phase, before limits, auth and functions): refuse a control
 * character in a header value passed on, a raw `#` and credentials in the query, each with its REFUSALS
 * page. `variable` names the page: `$edge_api_refusal` (api: maps in edge.conf.template, njs only for a
 * query parameter name that needs decoding) or `$edge_refusal` (events: nginx/edge.js `refusal`, which
 * checks every header value, since that server passes every header on).
 */
export function refuseBadInput(variable: '$edge_api_refusal' | '$edge_refusal'): string[] {
  return [`if (${variable}) {`, `  rewrite ^ /_problem/${variable}? last;`, '}'];
}

/** `:<port>` in public URLs, or nothing on 443. */
export function portSuffix(o: EdgeOptions): string {
  return o.publicHttpsPort === 443 ? '' : `:${o.publicHttpsPort}`;
}

/** The static site's origin (CORS, CSP). */
export function siteOrigin(o: EdgeOptions): string {
  return `https://${o.domain}${portSuffix(o)}`;
}
