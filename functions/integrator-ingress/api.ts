import { defineApi } from '../lib/http/contract.ts';

/** The realm role an integrator's service account must hold. */
export const INTEGRATOR_ROLE = 'integrator';

/** integrator-ingress's route on the events host (the edge, edge-auth's rules and the OpenAPI document use it). */
export const IntegratorIngressApi = defineApi({
  publishEvent: {
    method: 'POST',
    path: '/',
    access: { roles: [INTEGRATOR_ROLE] },
    summary:
      'Publish a CloudEvent of an inbound type (binary or structured mode) or a batch (all or nothing); see events/INTEGRATORS.md',
    consumes: ['application/cloudevents+json', 'application/cloudevents-batch+json', 'application/json'],
    raw: true,
    bodyLimit: 64 * 1024,
    status: 202,
  },
});
