/**
 * The PingSources of `npm start`: each `PingSource` in knative/base (500-pingsource.yaml) ticks its local
 * function on its own schedule, as Knative's PingSource adapter does in the cluster — a binary-mode
 * CloudEvent `dev.knative.sources.ping` from `/apis/v1/namespaces/<ns>/pingsources/<name>` with the
 * source's `data` as the body. So outbox-relay relays both outbox sources (PostgreSQL, the subtitle
 * documents in MongoDB) and notify sends due mail locally exactly as in the cluster. Schedules are cron
 * expressions evaluated by croner in the source's `timezone` (default UTC). A tick that fails is logged
 * and dropped: the next one does the work (as in the cluster, where ticks go straight to the Service).
 */
import { randomUUID } from 'node:crypto';
import { Cron } from 'croner';
import { toBinary } from '../../functions/lib/events/encode.ts';
import type { PingSourceDef } from '../manifests/knative-types.ts';
import { pingSources } from '../manifests/load.ts';

export interface LocalPingSourcesOptions {
  /** Where a function listens locally (scripts/stack/ports.ts `functionPort`). */
  readonly functionPort: (name: string) => number;
  /** Functions running here; ticks for others are not scheduled (default: every PingSource's sink). */
  readonly services?: readonly string[];
  /** Default: the PingSources of knative/base. */
  readonly sources?: readonly PingSourceDef[];
  /** Told about every tick (its source, the answer's status or the error). */
  readonly onTick?: (tick: { source: string; status?: number; error?: unknown }) => void;
}

export interface LocalPingSources {
  /** `<name> → <service> (<schedule>)` for the start banner. */
  readonly lines: readonly string[];
  stop(): Promise<void>;
}

/** The CloudEvent a PingSource sends on a tick (Knative PingSource v1). */
export function pingEvent(source: PingSourceDef, now: Date = new Date()) {
  return {
    specversion: '1.0' as const,
    id: randomUUID(),
    type: 'dev.knative.sources.ping',
    source: `/apis/v1/namespaces/${source.namespace}/pingsources/${source.name}`,
    time: now.toISOString(),
    datacontenttype: source.contentType ?? 'application/json',
    data: source.data ?? '',
  };
}

/**
 * Schedule every PingSource whose sink runs here.
 * @example const pings = startPingSources({ functionPort }); stops.push(pings.stop);
 */
export function startPingSources(options: LocalPingSourcesOptions): LocalPingSources {
  const services = options.services ? new Set(options.services) : undefined;
  const chosen = (options.sources ?? pingSources()).filter((s) => !services || services.has(s.sink.service));
  const inFlight = new Set<Promise<void>>();
  const jobs = chosen.map(
    (source) =>
      new Cron(source.schedule, { timezone: source.timezone ?? 'Etc/UTC', protect: true }, () => {
        const { headers, body } = toBinary(pingEvent(source));
        const url = `http://127.0.0.1:${options.functionPort(source.sink.service)}/`;
        const tick = fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(120_000) })
          .then(async (res) => {
            await res.arrayBuffer();
            options.onTick?.({ source: source.name, status: res.status });
          })
          .catch((error: unknown) => options.onTick?.({ source: source.name, error }))
          .finally(() => inFlight.delete(tick));
        inFlight.add(tick);
        return tick;
      }),
  );
  return {
    lines: chosen.map((s) => `${s.name} → ${s.sink.service} (${s.schedule})`),
    async stop() {
      for (const job of jobs) job.stop();
      await Promise.all(inFlight);
    },
  };
}
