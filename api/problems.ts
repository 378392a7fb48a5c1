/**
 * The errors of the OpenAPI document: RFC 9457 problem details as functions/lib/problem.ts writes them
 * (and nginx/problems.ts for the edge's own), one reusable response per status the routes can answer.
 */
import { PROBLEM_BASE } from '../functions/lib/problem.ts';

type Json = Record<string, unknown>;

export const ERRORS: Record<string, { status: number; code: string; description: string; detail: string }> = {
  BadRequest: {
    status: 400,
    code: 'validation_failed',
    description: 'The request is invalid; `errors` names each bad field as a JSON pointer',
    detail: 'invalid body: /body/score must be <= 10',
  },
  Unauthorized: {
    status: 401,
    code: 'unauthenticated',
    description: 'No bearer token, or one that is expired, forged or for another audience',
    detail: 'a bearer token is required for this route',
  },
  Forbidden: {
    status: 403,
    code: 'forbidden',
    description:
      'The token lacks the role this route needs; or it is not a person’s (a service-account, client-credentials token, or one without a person role) on a route that acts as the caller, token optional or not; or the caller may not do this here (a group’s leaders or members only)',
    detail: 'this route needs one of the roles: moderator, admin',
  },
  NotFound: {
    status: 404,
    code: 'not_found',
    description: 'No such resource (or route)',
    detail: 'anime 999999 not found',
  },
  Conflict: {
    status: 409,
    code: 'conflict',
    description: 'The request conflicts with the current state (a duplicate, a rule that would break)',
    detail: 'the slug fansubs is taken',
  },
  Gone: {
    status: 410,
    code: 'gone',
    description:
      'The resource was taken down or closed on purpose (a removed subtitle, a withdrawn invitation)',
    detail: 'subtitle 65f0c0ffee0123456789abcd was removed by moderation',
  },
  Unprocessable: {
    status: 422,
    code: 'unprocessable',
    description:
      'The body has the right media type but its content cannot be used (a file that does not parse)',
    detail: 'the subtitle file cannot be used: no cue could be read',
  },
  PayloadTooLarge: {
    status: 413,
    code: 'payload_too_large',
    description:
      "The body is larger than the route's limit, or the answer would be (a bulk download over its limit)",
    detail: 'the request body is larger than 65536 bytes',
  },
  UnsupportedMediaType: {
    status: 415,
    code: 'unsupported_media_type',
    description: 'The body is not of a media type this route reads',
    detail: 'the request body must be application/json',
  },
  TooManyRequests: {
    status: 429,
    code: 'rate_limited',
    description: 'Too many requests from this address or token; retry after `Retry-After` seconds',
    detail: 'too many requests',
  },
  ServiceUnavailable: {
    status: 503,
    code: 'dependency_unavailable',
    description: 'A dependency is down; retry after `Retry-After` seconds',
    detail: 'PostgreSQL is unavailable',
  },
};

export function problemResponse(name: string): Json {
  const e = ERRORS[name] as (typeof ERRORS)[string];
  const headers: Json = {};
  if (e.status === 401)
    headers['WWW-Authenticate'] = {
      description: 'The bearer challenge (RFC 6750)',
      schema: { type: 'string', examples: ['Bearer realm="isekai", error="invalid_token"'] },
    };
  if (e.status === 429 || e.status === 503)
    headers['Retry-After'] = { description: 'Seconds to wait', schema: { type: 'integer' } };
  return {
    description: e.description,
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    content: {
      'application/problem+json': {
        schema: { $ref: '#/components/schemas/Problem' },
        example: {
          type: `${PROBLEM_BASE}${e.code}`,
          title: e.description.split(';')[0],
          status: e.status,
          code: e.code,
          detail: e.detail,
          ...(e.status === 400 ? { errors: [{ field: '/body/score', message: 'must be <= 10' }] } : {}),
        },
      },
    },
  };
}

export const PROBLEM_SCHEMA: Json = {
  type: 'object',
  description: 'RFC 9457 problem details; `code` is stable (clients match on it, never on `detail`)',
  required: ['type', 'title', 'status', 'code'],
  properties: {
    type: { type: 'string', format: 'uri', examples: [`${PROBLEM_BASE}not_found`] },
    title: { type: 'string' },
    status: { type: 'integer', minimum: 400, maximum: 599 },
    detail: { type: 'string' },
    instance: { type: 'string' },
    code: { type: 'string', examples: ['not_found'] },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'message'],
        properties: { field: { type: 'string' }, message: { type: 'string' } },
      },
    },
  },
};
