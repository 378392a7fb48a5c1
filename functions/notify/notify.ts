import { once } from 'node:events';
import type { CloudEventV1 } from 'cloudevents';
import type { Redis } from 'ioredis';
import { type Db, ObjectId } from 'mongodb';
import type { Postgres } from '../lib/data/postgres.ts';
import { type ConsumerOutcome, createConsumer } from '../lib/events/consumer.ts';
import { channelOf, type Inbox, MODERATION_INBOX, type NotificationDoc, toView } from '../lib/inbox/inbox.ts';
import { type PendingMail, queueMail } from '../lib/inbox/mail.ts';
import { type Preferences, type PreferencesStore, preferenceOf } from '../lib/inbox/preferences.ts';
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
  /**
   * Each recipient's channels per type: a type with `inbox` off is not stored, with `live` off not
   * pushed. Undefined: everything everywhere (the defaults). The moderators' shared inbox has none.
   */
  readonly preferences?: PreferencesStore;
  /**
   * Where e-mails are queued (collection mail_outbox, the inbox database): a recipient whose type's
   * `email` is immediate or daily-digest and whose users.email is known gets one pending mail, keyed
   * `<userId>:<eventId>` (idempotent). Undefined: no e-mail.
   */
  readonly mailDb?: Db;
  /** Called after each handled event (e.g. the mail sender's sendDue); its failure is only logged. */
  readonly afterEvent?: () => Promise<unknown>;
  /**
   * Run on a clock tick (a `dev.knative.sources.ping` CloudEvent from the notify-mail-tick PingSource):
   * the mail sender's sendDue, so digests and retries go out even when no event arrives. Its failure
   * propagates (503 on the host; the next tick tries again). Undefined: a tick is acknowledged, nothing runs.
   */
  readonly onTick?: () => Promise<unknown>;
}

/** The CloudEvent type of a Knative PingSource tick (knative.dev/docs: PingSource reference). */
export const PING_TYPE = 'dev.knative.sources.ping';

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
      const users = [...new Set(docs.map((d) => d.userId).filter((id) => id !== MODERATION_INBOX))];
      const prefs = deps.preferences ? await deps.preferences.many(users) : new Map<string, Preferences>();
      const wants = (doc: NotificationDoc, channel: 'inbox' | 'live'): boolean => {
        const mine = prefs.get(doc.userId);
        const type = preferenceOf(doc.kind);
        return !mine || type === undefined || mine[type][channel];
      };
      const stored = await inbox.insertOnce(docs.filter((d) => wants(d, 'inbox')));
      // Live without inbox: pushed once (the event is recorded processed with this commit), never stored.
      const liveOnly = docs.filter((d) => !wants(d, 'inbox') && wants(d, 'live'));
      inserted.set(event.id, [...stored.filter((d) => wants(d, 'live')), ...liveOnly]);
      if (deps.mailDb) {
        const mailed = docs.filter((d) => {
          const type = preferenceOf(d.kind);
          const mode = type === undefined ? undefined : prefs.get(d.userId)?.[type].email;
          return mode !== undefined && mode !== 'off';
        });
        if (mailed.length > 0) {
          const { rows } = await tx.query<{ id: string; email: string }>(
            'select id, email from users where id = any($1) and email is not null',
            [[...new Set(mailed.map((d) => d.userId))]],
          );
          const emailOf = new Map(rows.map((r) => [r.id, r.email]));
          const mails: PendingMail[] = [];
          for (const d of mailed) {
            const to = emailOf.get(d.userId);
            const kind = preferenceOf(d.kind) as keyof Preferences;
            const mode = prefs.get(d.userId)?.[kind].email;
            if (!to || (mode !== 'immediate' && mode !== 'daily-digest')) continue;
            mails.push({
              _id: `${d.userId}:${event.id}`,
              userId: d.userId,
              to,
              kind,
              mode,
              subject: d.message.length > 120 ? `${d.message.slice(0, 117)}...` : d.message,
              text: d.message,
              createdAt,
              sentAt: null,
              attempts: 0,
            });
          }
          await queueMail(deps.mailDb, mails);
        }
      }
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
    if (event.type === PING_TYPE) {
      await deps.onTick?.();
      return 'ok';
    }
    const id = String(event.id);
    try {
      const outcome = await consume(event);
      await signal(inserted.get(id) ?? []);
      if (deps.afterEvent)
        await deps
          .afterEvent()
          .catch((error: unknown) =>
            runtime.log.warn({ err: error, code: 'dependency_unavailable' }, 'pending mail not sent yet'),
          );
      return outcome;
    } finally {
      inserted.delete(id);
    }
  };
}
