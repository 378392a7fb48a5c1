import { personRefusal } from '../lib/auth/people.ts';
import { type TokenVerifier, verifierFromSettings } from '../lib/auth/token-verifier.ts';
import { loadConfig } from '../lib/config.ts';
import { Forbidden, Unauthenticated } from '../lib/errors.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { Identity, Route } from '../lib/http/types.ts';
import { createRuntime, type Runtime } from '../lib/runtime.ts';
import { requirementFor } from './policy.ts';
import { EdgeAuthSettings } from './settings.ts';

/** Identity headers nginx copies onto the proxied request (after deleting any the client sent). */
function identityHeaders(identity: Identity | undefined, cacheSeconds: number): Record<string, string> {
  if (!identity)
    return {
      'x-auth-user-id': '',
      'x-auth-user-name': '',
      'x-auth-roles': '',
      'x-accel-expires': String(cacheSeconds),
    };
  const remaining = identity.exp - Math.floor(Date.now() / 1000);
  return {
    'x-auth-user-id': identity.sub,
    'x-auth-user-name': identity.username,
    'x-auth-roles': identity.roles.join(','),
    'x-accel-expires': String(Math.max(0, Math.min(cacheSeconds, remaining))),
  };
}

/**
 * The target of nginx `auth_request`. nginx sends the client's Authorization header plus
 * X-Original-Method / X-Original-URI / X-Original-Host; the answer is 200 with identity headers,
 * 401 with WWW-Authenticate, or 403 (a role is missing, or a service account on a `user` or `optional`
 * route: the functions' rule, `lib/auth/people.ts`). Answers never carry a body nginx would show.
 */
export function createEdgeAuth(runtime: Runtime, verifier: TokenVerifier, cacheSeconds: number): HttpHandler {
  const check: Route = {
    method: ['GET', 'POST'],
    path: '/check',
    handle: async (ctx) => {
      const method = String(ctx.req.headers['x-original-method'] ?? 'GET');
      // nginx's decoded, normalised `$uri` (a path, never a query), judged exactly as nginx keyed its auth
      // cache. `new URL()` here resolved `\..\` and `%2e%2e` once more (a path nginx routes to one rule,
      // judged and cached as another's) and threw on `/\/` (→ 503).
      const path = String(ctx.req.headers['x-original-uri'] ?? '/');
      const host = String(ctx.req.headers['x-original-host'] ?? '').startsWith('events.') ? 'events' : 'api';
      const need = requirementFor(host, method, path);
      const identity = await verifier.authenticate(ctx.req);
      const tokenOptional = need.kind === 'anonymous' || need.kind === 'optional';
      if (!tokenOptional && !identity) throw new Unauthenticated('a bearer token is required');
      // `user` and `optional` routes act as the person the token names.
      const asPerson = need.kind === 'user' || need.kind === 'optional';
      const refusal = asPerson && identity ? personRefusal(identity) : undefined;
      if (refusal) throw new Forbidden(refusal);
      if (need.kind === 'roles' && identity && !need.roles.some((r) => identity.roles.includes(r))) {
        throw new Forbidden(`needs one of the roles: ${need.roles.join(', ')}`);
      }
      return { status: 200, headers: identityHeaders(identity, cacheSeconds) };
    },
  };
  return createHttpFunction({ runtime, routes: [check] });
}

/** Wire edge-auth from the environment (once, at start-up). */
export function edgeAuthFromEnv(env: NodeJS.ProcessEnv = process.env): HttpHandler {
  const runtime = createRuntime('edge-auth', { env });
  const settings = loadConfig(EdgeAuthSettings, env);
  const verifier = verifierFromSettings(settings);
  return createEdgeAuth(runtime, verifier, settings.EDGE_AUTH_CACHE_SECONDS);
}
