import Type, { type TSchema } from 'typebox';
import { MAX_ANIME_ID } from '../anime-id.ts';
import { check } from '../validate.ts';
import type { Step } from './pipeline.ts';

/**
 * Path parameters, checked like a body or a query: a route declares the shape of each `:name` of its
 * path (`params`), and a value of the wrong shape is a 400 naming `/path/<name>` — a malformed id is a
 * bad request, not a missing resource (`/anime/abc` → 400, `/anime/999999` → 404). Integers are
 * converted from canonical decimals only (`7`, not `007`, `7.0` or `+7`): one URL per resource.
 */

/** A catalogue id: a positive PostgreSQL int4 (`functions/lib/anime-id.ts`). */
export const AnimeIdParam = Type.Integer({ minimum: 1, maximum: MAX_ANIME_ID, description: 'An anime id' });
/** An episode number (the largest any catalogue entry or group project may have). */
export const EpisodeParam = Type.Integer({ minimum: 1, maximum: 10_000, description: 'An episode number' });
/** A MongoDB ObjectId as 24 lowercase hex digits (subtitles, notifications). */
export const ObjectIdParam = Type.String({ pattern: '^[0-9a-f]{24}$', description: '24 hex digits' });
/** A UUID (group invitations and projects); either case, answered lowercase. */
export const UuidParam = Type.String({
  pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$',
  description: 'A UUID',
});
/** A calendar date `YYYY-MM-DD` (whether the day exists is the handler's 404). */
export const DateParam = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', format: 'date' });
/** An account's id or username as the identity provider issued it. */
export const NameParam = Type.String({ minLength: 1, maxLength: 255 });

/** The `params` schema of a route: one property per `:name` of its path, all required. */
export function pathParams<const P extends Record<string, TSchema>>(properties: P) {
  return Type.Object(properties, { additionalProperties: false });
}

const CANONICAL_INTEGER = /^-?(0|[1-9]\d{0,15})$/;

/** Canonical decimal strings → numbers where the schema wants an integer; anything else left as sent. */
function convert(schema: TSchema, params: Readonly<Record<string, string>>): Record<string, unknown> {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties ?? {};
  const out: Record<string, unknown> = { ...params };
  for (const [name, property] of Object.entries(properties)) {
    const value = params[name];
    if (property.type === 'integer' && value !== undefined && CANONICAL_INTEGER.test(value))
      out[name] = Number(value);
  }
  return out;
}

/**
 * Check the route's path parameters against its `params` schema (after `authorize`, before the body is
 * read): 400 `validation_failed` naming each bad one as `/path/<name>`; the handler gets them converted
 * (integers as numbers). Routes without a `params` schema keep their strings.
 */
export const parsePathParams: Step = (x, next) => {
  const schema = x.route?.params;
  if (!schema) return next(x);
  const params = check<Record<string, unknown>>(schema, convert(schema, x.params), '/path');
  // Exchange.params is typed for the router's strings; from here on it holds the converted values,
  // which the route's own type (contract.ts `ContextOf`) describes.
  x.params = params as Record<string, string>;
  return next(x);
};
