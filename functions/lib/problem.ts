import { type ErrorCode, type IsekaiError, MethodNotAllowed, Unauthenticated } from './errors.ts';

/**
 * The one `Content-Type` of every problem answer, whoever makes it (functions, nginx's own pages, the
 * site, the development broker): exactly as RFC 9457 §6.1 registers it, without parameters (JSON is
 * UTF-8 by definition, RFC 8259 §8.1, so a `charset` says nothing).
 */
export const PROBLEM_MEDIA_TYPE = 'application/problem+json';

/** Where problem types are documented; `type` = base + code (RFC 9457 §3.1.1). */
export const PROBLEM_BASE = 'https://isekai.dev/problems/';

const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  gone: 410,
  unauthenticated: 401,
  forbidden: 403,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  rate_limited: 429,
  dependency_unavailable: 503,
  delivery_failed: 502,
  config_invalid: 500,
  internal: 500,
};

const TITLE: Record<ErrorCode, string> = {
  validation_failed: 'Invalid request',
  not_found: 'Not found',
  method_not_allowed: 'Method not allowed',
  conflict: 'Conflict',
  gone: 'Gone',
  unauthenticated: 'Authentication required',
  forbidden: 'Forbidden',
  payload_too_large: 'Payload too large',
  unsupported_media_type: 'Unsupported media type',
  unprocessable: 'Unprocessable content',
  rate_limited: 'Too many requests',
  dependency_unavailable: 'Service temporarily unavailable',
  delivery_failed: 'Event delivery failed',
  config_invalid: 'Server misconfigured',
  internal: 'Internal error',
};

/** An RFC 9457 problem details object. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: ErrorCode;
  errors?: { field: string; message: string; allowed?: readonly unknown[] }[];
}

/** The HTTP status for an error code. */
export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/**
 * Turn an error into problem+json. Internal errors never leak their message or cause.
 * @example toProblem(new NotFound('anime 42 not found'), '/anime/42').status === 404
 */
export function toProblem(error: IsekaiError, instance?: string): Problem {
  const status = STATUS[error.code];
  const problem: Problem = {
    type: PROBLEM_BASE + error.code,
    title: TITLE[error.code],
    status,
    code: error.code,
  };
  if (status < 500 || error.code === 'dependency_unavailable') problem.detail = error.message;
  if (instance !== undefined) problem.instance = instance;
  if (error.issues.length > 0)
    problem.errors = error.issues.map((i) => ({
      field: i.field,
      message: i.message,
      ...(i.allowed ? { allowed: i.allowed } : {}),
    }));
  return problem;
}

/** Extra response headers an error implies (Retry-After, Allow, WWW-Authenticate). */
export function problemHeaders(error: IsekaiError): Record<string, string> {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined)
    headers['retry-after'] = String(Math.max(1, Math.ceil(error.retryAfter)));
  if (error instanceof MethodNotAllowed) headers.allow = error.allow.join(', ');
  if (error instanceof Unauthenticated) {
    headers['www-authenticate'] =
      error.reason === undefined ? 'Bearer realm="isekai"' : `Bearer realm="isekai", error="${error.reason}"`;
  }
  return headers;
}
