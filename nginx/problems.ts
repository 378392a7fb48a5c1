/** The answers nginx gives itself (RFC 9457 problem+json, same codes as the functions) and its headers. */
import { type ErrorCode, IsekaiError } from '../functions/lib/errors.ts';
import { toProblem } from '../functions/lib/problem.ts';
import type { EdgeOptions } from './options.ts';

export const NGINX_ERRORS: readonly { status: number; code: ErrorCode; detail: string; as?: number }[] = [
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

export function problemBody(status: number, code: ErrorCode, detail: string): string {
  const { type, title } = toProblem(new EdgeProblem(code, detail));
  // `$problem_instance` is already a JSON string (nginx/edge.js).
  return `{"type":"${type}","title":"${title}","status":${status},"code":"${code}","detail":"${detail}","instance":$problem_instance}`;
}

export type HeaderKind = 'api' | 'site' | 'auth';

export function securityHeaders(kind: HeaderKind, o: EdgeOptions): string[] {
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
      `add_header Content-Security-Policy "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; font-src 'self'; connect-src 'self' https://api.${o.domain}${portSuffix(o)} https://auth.${o.domain}${portSuffix(o)}; form-action 'self' ${o.identityOrigin ?? `https://auth.${o.domain}${portSuffix(o)}`}; frame-ancestors 'none'; base-uri 'self'; object-src 'none'" always;`,
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

export function problemLocations(kind: HeaderKind, o: EdgeOptions): string[] {
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

export function portSuffix(o: EdgeOptions): string {
  return o.publicHttpsPort === 443 ? '' : `:${o.publicHttpsPort}`;
}

export function siteOrigin(o: EdgeOptions): string {
  return `https://${o.domain}${portSuffix(o)}`;
}
