import type { CloudEventV1 } from 'cloudevents';
import { eventSpec } from '../../events/catalogue.ts';
import { type FieldIssue, Forbidden, IsekaiError, ValidationFailed } from '../lib/errors.ts';
import { decodeHttpMessage } from '../lib/events/decode.ts';
import type { EventTransport } from '../lib/events/transport.ts';
import { type CheckedEvent, validateEvent } from '../lib/events/validate-event.ts';
import { implement } from '../lib/http/contract.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute, Authenticator, Identity } from '../lib/http/types.ts';
import type { Runtime } from '../lib/runtime.ts';
import { IntegratorIngressApi } from './api.ts';

export { INTEGRATOR_ROLE } from './api.ts';

/**
 * The integrator a token speaks for: its Keycloak client id (`azp`, else `client_id`), exactly as the
 * client is registered — never `preferred_username`, which Keycloak lower-cases
 * (`service-account-airing-bot` for client `Airing-Bot`). Undefined for a token without one.
 * @example integratorOf({ clientId: 'Airing-Bot', … }) === 'Airing-Bot'
 */
export function integratorOf(identity: Identity): string | undefined {
  return identity.clientId || undefined;
}

/**
 * Whether `source` names this integrator: `/integrators/<client id>`, compared exactly (case-sensitive),
 * as Keycloak matches a `client_id` at its token endpoint.
 */
export function speaksFor(source: string, client: string): boolean {
  return source === `/integrators/${client}`;
}

export interface IntegratorIngressOptions {
  readonly runtime: Runtime;
  /** Verifies the integrator's client-credentials token (Keycloak); the route needs role `integrator`. */
  readonly authenticate: Authenticator;
  /** Forwards accepted events to the broker ingress (K_SINK). */
  readonly send: EventTransport;
}

/** Prefix a field pointer with the entry's index in a batch (`/2/data/episode`). */
const at = (prefix: string, issues: readonly FieldIssue[]) =>
  issues.map((i) => ({ ...i, field: `${prefix}${i.field === '/' ? '' : i.field}` || '/' }));

/** Validate every event; throws one ValidationFailed naming every bad entry (nothing is published). */
function validateAll(events: readonly Record<string, unknown>[], batch: boolean): CheckedEvent[] {
  const checked: CheckedEvent[] = [];
  const issues: FieldIssue[] = [];
  const bad: number[] = [];
  events.forEach((event, i) => {
    try {
      checked.push(validateEvent(event));
    } catch (error) {
      if (!(error instanceof IsekaiError)) throw error;
      bad.push(i);
      const own = error.issues.length > 0 ? error.issues : [{ field: '/', message: error.message }];
      issues.push(...at(batch ? `/${i}` : '', own));
    }
  });
  if (bad.length === 0) return checked;
  throw new ValidationFailed(
    batch
      ? `batch refused, nothing published: invalid entries ${bad.join(', ')} of ${events.length}`
      : `invalid event: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`,
    { issues },
  );
}

/**
 * Refuse a catalogue type Isekai publishes (direction `outbound`) before its data is looked at: 403 with
 * `/type` (`/<index>/type` in a batch) whatever the data holds, as events/INTEGRATORS.md promises —
 * validating first answered an incomplete `rating.submitted` with a 400 listing its missing fields.
 * Types outside the catalogue are left to validation (400).
 */
function refuseOutbound(events: readonly Record<string, unknown>[], batch: boolean): void {
  const issues: FieldIssue[] = [];
  events.forEach((event, i) => {
    const type = typeof event.type === 'string' ? event.type : '';
    const spec = eventSpec(type);
    if (spec !== undefined && spec.direction !== 'inbound')
      issues.push({
        field: `${batch ? `/${i}` : ''}/type`,
        message: `${type} is published by Isekai, not integrators`,
      });
  });
  if (issues.length === 0) return;
  throw new Forbidden(
    `${batch ? 'batch refused, nothing published: ' : ''}${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`,
    { issues },
  );
}

/** Check every event may come from this client; throws one Forbidden naming every refused entry. */
function authorizeAll(events: readonly CheckedEvent[], client: string | undefined, batch: boolean): void {
  const issues: FieldIssue[] = [];
  events.forEach((event, i) => {
    const prefix = batch ? `/${i}` : '';
    if (client === undefined)
      issues.push({ field: `${prefix}/source`, message: 'the token names no client (azp)' });
    else if (!speaksFor(event.source, client))
      issues.push({ field: `${prefix}/source`, message: `must be /integrators/${client}` });
  });
  if (issues.length === 0) return;
  throw new Forbidden(
    `${batch ? 'batch refused, nothing published: ' : ''}${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`,
    { issues },
  );
}

/** What is forwarded: the event as sent (no `time` added), its JSON data re-encoded as UTF-8 JSON. */
function forwarded(event: CheckedEvent): CloudEventV1<unknown> {
  return { ...event, datacontenttype: 'application/json' };
}

/**
 * The integrators' front door (events.isekai.dev): `POST /` one CloudEvent of an *inbound* catalogue
 * type (binary or structured mode) or a batch (`application/cloudevents-batch+json`), with a token
 * carrying the `integrator` role (401 without a token, 403 without the role). Every event is validated
 * (400 problem+json naming each field, `/<index>/…` in a batch) and must have `source`
 * `/integrators/<client id>` (403 otherwise); a batch is all or nothing: one bad entry refuses the whole
 * batch before anything is published. Accepted events go to the broker in binary mode, in order: 202 once
 * the broker has confirmed them all; 503 while it is unavailable (resend everything with the same ids:
 * consumers dedupe by id).
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
      const { mode, events } = decodeHttpMessage(ctx.req.headers, ctx.raw ?? Buffer.alloc(0));
      const batch = mode === 'batch';
      refuseOutbound(events, batch);
      const checked = validateAll(events, batch);
      const client = integratorOf(ctx.identity);
      authorizeAll(checked, client, batch);
      for (const event of checked) await options.send(forwarded(event));
      for (const event of checked)
        ctx.log.info({ 'ce.id': event.id, 'ce.type': event.type, client, mode }, 'integrator event accepted');
      return batch ? { status: 202, body: { accepted: checked.length } } : { status: 202 };
    },
  });
}
