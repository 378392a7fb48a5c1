import { once } from 'node:events';
import type { CloudEventV1 } from 'cloudevents';
import type { Redis } from 'ioredis';
import { ObjectId } from 'mongodb';
import type { Postgres } from '../lib/data/postgres.ts';
import { type ConsumerOutcome, createConsumer } from '../lib/events/consumer.ts';
import { channelOf, type Inbox, type NotificationDoc, toView } from '../lib/inbox/inbox.ts';
import type { Runtime } from '../lib/runtime.ts';
import { animeIdOf, planFor, type SubtitleLanguages } from './audience.ts';
import { NOTIFY_TYPES } from './messages.ts';

export interface NotifyDeps {
  readonly runtime: Runtime;
  readonly db: Postgres;
  readonly inbox: Inbox;
  /** Publishes live signals; undefined: no live push (the inbox still has everything). */
  readonly redis: Redis | undefined;
  readonly keyPrefix: string;
  readonly ttlDays: number;
  /** Languages of an episode's published subtitles (combined aired + next-episode alerts); default none. */
  readonly subtitleLanguages?: SubtitleLanguages;
  readonly now?: () => Date;
}

/**
 * notify's logic, as an idempotent consumer: validate → in one PostgreSQL transaction record the event
 * id in processed_events, read the recipients and insert one notification per inbox in MongoDB (unique
 * {userId, eventId}: a retry after a failed commit inserts only what is missing) → commit → 2xx. Then a
 * live signal per new notification on Redis `<prefix>notifications:<inbox>` (best effort: a lost
 * signal is read from the inbox on the next request or stream reconnect). MongoDB or PostgreSQL down →
 * 503 (the broker retries); an invalid event → 400 (dead-lettered).
 */
export function createNotify(deps: NotifyDeps): (event: CloudEventV1<unknown>) => Promise<ConsumerOutcome> {
  const { runtime, inbox, redis } = deps;
  const now = deps.now ?? (() => new Date());
  const inserted = new Map<string, NotificationDoc[]>();
  const consume = createConsumer({
    runtime,
    db: deps.db,
    consumer: 'notify',
    types: NOTIFY_TYPES,
    handle: async (tx, event) => {
      const plan = await planFor(tx, event, deps.subtitleLanguages ?? (async () => []));
      const createdAt = now();
      if (plan.close) {
        const c = plan.close;
        await inbox.markDone(c.kind, c.key, c.value, c.outcome, createdAt);
      }
      if (plan.deliveries.length === 0) return;
      const animeId = animeIdOf(event) ?? null;
      const expiresAt = new Date(createdAt.getTime() + deps.ttlDays * 86_400_000);
      const docs = plan.deliveries.map<NotificationDoc>(({ inbox: userId, draft }) => ({
        _id: new ObjectId(),
        userId,
        eventId: event.id,
        kind: draft.kind,
        animeId,
        message: draft.message,
        data: draft.data,
        createdAt,
        readAt: null,
        expiresAt,
        ...(draft.actions ? { actions: draft.actions, doneAt: null } : {}),
        ...(draft.rank ? { rank: draft.rank } : {}),
      }));
      inserted.set(event.id, await inbox.insertOnce(docs));
    },
  });

  async function signal(docs: NotificationDoc[]): Promise<void> {
    if (!redis || docs.length === 0) return;
    try {
      if (redis.status !== 'ready') {
        await Promise.race([
          once(redis, 'ready'),
          new Promise((_, reject) => setTimeout(() => reject(new Error('redis not ready')), 1_000).unref()),
        ]);
      }
      const pipeline = redis.pipeline();
      for (const doc of docs)
        pipeline.publish(channelOf(deps.keyPrefix, doc.userId), JSON.stringify(toView(doc)));
      await pipeline.exec();
    } catch (error) {
      runtime.log.warn({ err: error, code: 'dependency_unavailable' }, 'live signal not published');
    }
  }

  return async (event) => {
    const id = String(event.id);
    try {
      const outcome = await consume(event);
      await signal(inserted.get(id) ?? []);
      return outcome;
    } finally {
      inserted.delete(id);
    }
  };
}
