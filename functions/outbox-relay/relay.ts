import type { CloudEventV1 } from 'cloudevents';
import Type from 'typebox';
import { loadConfig } from '../lib/config.ts';
import { createPostgres, type Postgres } from '../lib/data/postgres.ts';
import { type OutboxDeps, type RelayResult, relayOutbox } from '../lib/events/outbox.ts';
import { createHttpTransport, type EventTransport } from '../lib/events/transport.ts';
import { createRuntime, type Runtime } from '../lib/runtime.ts';
import { check } from '../lib/validate.ts';
import { RelaySettings } from './settings.ts';

/** The PingSource payload (`spec.data` of 500-pingsource.yaml). */
const Tick = Type.Object({ maxRows: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) });

export interface RelayDeps {
  readonly runtime: Runtime;
  readonly db: Postgres;
  readonly send: EventTransport;
  readonly batchSize: number;
  readonly minAgeMs: number;
}

/**
 * The outbox relay's logic: on each tick (a `dev.knative.sources.ping` CloudEvent) publish up to
 * `maxRows` unpublished outbox rows through the broker. A broker outage leaves the rows for the next tick
 * and answers 503 (transient); a malformed tick is a permanent 400.
 */
export function createRelayHandler(deps: RelayDeps): (event: CloudEventV1<unknown>) => Promise<RelayResult> {
  const outbox: OutboxDeps = { db: deps.db, send: deps.send, log: deps.runtime.log };
  return async (event) => {
    const data = typeof event.data === 'string' ? (JSON.parse(event.data) as unknown) : (event.data ?? {});
    const tick = check<{ maxRows?: number }>(Tick, data, '/data');
    const result = await relayOutbox(outbox, {
      maxRows: tick.maxRows ?? 500,
      batchSize: deps.batchSize,
      minAgeMs: deps.minAgeMs,
    });
    deps.runtime.log.info({ 'ce.id': event.id, 'ce.type': event.type, ...result }, 'outbox relayed');
    return result;
  };
}

/** The outbox relay wired from the environment (what index.ts registers, once at start-up). */
export function outboxRelayFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const runtime = createRuntime('outbox-relay', { env });
  const settings = loadConfig(RelaySettings, env);
  const db = createPostgres(runtime, { url: settings.DATABASE_URL, max: 4 });
  const send = createHttpTransport({ runtime, sink: settings.K_SINK });
  return createRelayHandler({
    runtime,
    db,
    send,
    batchSize: settings.RELAY_BATCH_SIZE,
    minAgeMs: settings.RELAY_MIN_AGE_MS,
  });
}
