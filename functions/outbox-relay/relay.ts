import type { CloudEventV1 } from 'cloudevents';
import Type from 'typebox';
import { loadConfig } from '../lib/config.ts';
import { createMongo } from '../lib/data/mongo.ts';
import { createPostgres } from '../lib/data/postgres.ts';
import { asIsekaiError } from '../lib/errors.ts';
import { postgresOutbox } from '../lib/events/outbox.ts';
import type { OutboxSource } from '../lib/events/outbox-source.ts';
import { type RelayResult, relayOutbox } from '../lib/events/relay.ts';
import { createHttpTransport, type EventTransport } from '../lib/events/transport.ts';
import { createRuntime, type Runtime } from '../lib/runtime.ts';
import { subtitleOutbox } from '../lib/subtitles/events.ts';
import { mongoFault } from '../lib/subtitles/wiring.ts';
import { check } from '../lib/validate.ts';
import { RelaySettings } from './settings.ts';

/** The PingSource payload (`spec.data` of 500-pingsource.yaml). */
const Tick = Type.Object({ maxRows: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })) });

export interface RelayDeps {
  readonly runtime: Runtime;
  /** Where unpublished events wait, relayed in this order: the PostgreSQL outbox, the subtitle documents. */
  readonly sources: readonly OutboxSource[];
  readonly send: EventTransport;
  readonly batchSize: number;
  /** The clock the backlog's age is measured with (ms since the epoch; default Date.now). */
  readonly now?: () => number;
}

/**
 * The outbox relay's logic: on each tick (a `dev.knative.sources.ping` CloudEvent) publish up to
 * `maxRows` unpublished events of each source through the broker (`relayOutbox`). A broker outage leaves
 * them for the next tick; a source that fails (its database down) does not stop the others, and the tick
 * then fails with that source's error (503, transient); a malformed tick is a permanent 400.
 * After each source's run its backlog (`source.pending()`) sets the gauges `outbox_pending_events` and
 * `outbox_oldest_pending_seconds` (label `source`: the source's name); when it cannot be read the source's
 * series are removed (no reading rather than a stale one) and the tick goes on.
 */
export function createRelayHandler(deps: RelayDeps): (event: CloudEventV1<unknown>) => Promise<RelayResult> {
  const relay = { send: deps.send, log: deps.runtime.log };
  const now = deps.now ?? Date.now;
  const { outboxPending, outboxOldestPending } = deps.runtime.metrics;
  const recordBacklog = async (source: OutboxSource) => {
    const labels = { source: source.name };
    try {
      const backlog = await source.pending();
      outboxPending.set(labels, backlog.count);
      const age = backlog.oldest ? Math.max(0, (now() - backlog.oldest.getTime()) / 1000) : 0;
      outboxOldestPending.set(labels, age);
    } catch (error) {
      outboxPending.remove(labels);
      outboxOldestPending.remove(labels);
      deps.runtime.log.warn(
        { source: source.name, code: asIsekaiError(error).code, err: error },
        'outbox backlog unreadable',
      );
    }
  };
  return async (event) => {
    const data = typeof event.data === 'string' ? (JSON.parse(event.data) as unknown) : (event.data ?? {});
    const tick = check<{ maxRows?: number }>(Tick, data, '/data');
    const options = { maxRows: tick.maxRows ?? 500, batchSize: deps.batchSize };
    const total = { published: 0, failed: 0 };
    let failure: unknown;
    for (const source of deps.sources) {
      try {
        const result = await relayOutbox(source, relay, options);
        total.published += result.published;
        total.failed += result.failed;
        deps.runtime.log.info(
          { 'ce.id': event.id, 'ce.type': event.type, source: source.name, ...result },
          'outbox relayed',
        );
      } catch (error) {
        failure ??= error;
        deps.runtime.log.warn(
          { 'ce.id': event.id, source: source.name, code: asIsekaiError(error).code, err: error },
          'outbox source failed',
        );
      }
      await recordBacklog(source);
    }
    if (failure !== undefined) throw failure;
    return total;
  };
}

/** The outbox relay wired from the environment (what index.ts registers, once at start-up). */
export function outboxRelayFromEnv(env: NodeJS.ProcessEnv = process.env) {
  const runtime = createRuntime('outbox-relay', { env });
  const settings = loadConfig(RelaySettings, env);
  const db = createPostgres(runtime, { url: settings.DATABASE_URL, max: 4 });
  const sources: OutboxSource[] = [postgresOutbox(db, { minAgeMs: settings.RELAY_MIN_AGE_MS })];
  if (settings.MONGO_URL) {
    const mongo = createMongo(runtime, settings.MONGO_URL);
    sources.push(
      mongoFaults(
        subtitleOutbox(mongo.db(settings.MONGO_DATABASE), { minAgeMs: settings.SUBTITLE_RELAY_MIN_AGE_MS }),
      ),
    );
  }
  const send = createHttpTransport({ runtime, sink: settings.K_SINK });
  return createRelayHandler({ runtime, sources, send, batchSize: settings.RELAY_BATCH_SIZE });
}

/** A MongoDB source whose outages surface as DependencyUnavailable (503), as the subtitle routes answer. */
function mongoFaults(source: OutboxSource): OutboxSource {
  const mapped = <T>(work: Promise<T>) =>
    work.catch((error: unknown) => {
      throw mongoFault(error);
    });
  return {
    name: source.name,
    claim: async (limit) => {
      const claim = await mapped(source.claim(limit));
      return {
        sequences: claim.sequences,
        markPublished: (ids) => mapped(claim.markPublished(ids)),
        release: (failures) => mapped(claim.release(failures)),
      };
    },
    pending: () => mapped(source.pending()),
  };
}
