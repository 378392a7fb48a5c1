import { eventSpec } from '../../events/catalogue.ts';
import { Forbidden } from '../lib/errors.ts';
import { validateEvent } from '../lib/events/catalogue.ts';
import type { EventTransport } from '../lib/events/transport.ts';
import { decodeEvent } from '../lib/host/server.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute, Authenticator, Identity } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';
import { IntegratorIngressApi } from './api.ts';

/** Keycloak names a client's service account `service-account-<clientId>`. */
const SERVICE_ACCOUNT_PREFIX = 'service-account-';

/**
 * The integrator a token speaks for: the Keycloak client id (the service account's username without
 * Keycloak's `service-account-` prefix), so `source` reads `/integrators/<client id>` as INTEGRATORS.md says.
 * @example integratorOf({ username: 'service-account-airing-bot', … }) === 'airing-bot'
 */
export function integratorOf(identity: Identity): string {
  const { username } = identity;
  return username.startsWith(SERVICE_ACCOUNT_PREFIX)
    ? username.slice(SERVICE_ACCOUNT_PREFIX.length)
    : username;
}

export interface IntegratorIngressOptions {
  readonly runtime: Runtime;
  /** Verifies the integrator's client-credentials token (Keycloak); the route needs role `integrator`. */
  readonly authenticate: Authenticator;
  /** Forwards accepted events to the broker ingress (K_SINK). */
  readonly send: EventTransport;
}

/**
 * The integrators' front door (events.isekai.dev): `POST /` a CloudEvent of an *inbound* catalogue type
 * (binary or structured mode) with a token carrying the `integrator` role (401 without a token, 403
 * without the role). The event is validated (400 problem+json naming each field), its `source` must be
 * `/integrators/<client id>` of the caller (403 otherwise), then it is forwarded to the broker in binary
 * mode: 202 once the broker has confirmed it; 503 while the broker is unavailable (retry, same id).
 */
export function createIntegratorIngress(options: IntegratorIngressOptions): HttpHandler {
  return createHttpFunction({
    runtime: options.runtime,
    routes: ingressRoutes(options),
    authenticate: options.authenticate,
  });
}

/** The ingress route (the whole of `IntegratorIngressApi`). */
export function ingressRoutes(options: Pick<IntegratorIngressOptions, 'send'>): AnyRoute[] {
  return implement(IntegratorIngressApi, {
    publishEvent: async (ctx) => {
      const event = validateEvent(decodeEvent(ctx.req, ctx.raw ?? Buffer.alloc(0)));
      if (eventSpec(event.type)?.direction !== 'inbound') {
        throw new Forbidden(
          `integrators may publish only inbound types; ${event.type} is published by Isekai`,
          { issues: [{ field: '/type', message: 'is not an inbound type' }] },
        );
      }
      const client = integratorOf(ctx.identity);
      if (event.source !== `/integrators/${client}`) {
        throw new Forbidden(`source must be /integrators/${client} for this client`, {
          issues: [{ field: '/source', message: `must be /integrators/${client}` }],
        });
      }
      await options.send(event);
      ctx.log.info({ 'ce.id': event.id, 'ce.type': event.type, client }, 'integrator event accepted');
      return { status: 202 };
    },
  });
}
