import { eventSpec } from '../../events/catalogue.ts';
import { Forbidden } from '../lib/errors.ts';
import { validateEvent } from '../lib/events/catalogue.ts';
import type { EventTransport } from '../lib/events/transport.ts';
import { decodeEvent } from '../lib/host/server.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute, Authenticator } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';

export interface IntegratorIngressOptions {
  readonly runtime: Runtime;
  /** Verifies the integrator's client-credentials token (Keycloak); the route needs role `integrator`. */
  readonly authenticate: Authenticator;
  /** Forwards accepted events to the broker ingress (K_SINK). */
  readonly send: EventTransport;
}

/**
 * The integrators' front door (events.isekai.dev): `POST /` a CloudEvent of an *inbound* catalogue type
 * (binary or structured mode) with a token carrying the `integrator` role. The event is validated (400
 * problem+json), its `source` must be `/integrators/<client>` for the caller's own client (403 otherwise),
 * then it is forwarded to the broker: 202 once the broker has confirmed it.
 */
export function createIntegratorIngress(options: IntegratorIngressOptions): HttpHandler {
  const route: AnyRoute = {
    method: 'POST',
    path: '/',
    access: { roles: ['integrator'] },
    raw: true,
    bodyLimit: 64 * 1024,
    handle: async (ctx) => {
      const event = validateEvent(decodeEvent(ctx.req, ctx.raw ?? Buffer.alloc(0)));
      if (eventSpec(event.type)?.direction !== 'inbound') {
        throw new Forbidden(
          `integrators may publish only inbound types; ${event.type} is published by Isekai`,
        );
      }
      const client = ctx.identity?.username ?? '';
      if (event.source !== `/integrators/${client}`) {
        throw new Forbidden(`source must be /integrators/${client} for this client`);
      }
      await options.send(event);
      ctx.log.info({ 'ce.id': event.id, 'ce.type': event.type, client }, 'integrator event accepted');
      return { status: 202 };
    },
  } as AnyRoute;
  return createHttpFunction({
    runtime: options.runtime,
    routes: [route],
    authenticate: options.authenticate,
  });
}
