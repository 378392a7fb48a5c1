import type { CloudEventV1 } from 'cloudevents';
import { loadConfig, Type } from '../lib/config.ts';
import { createMongo } from '../lib/data/mongo.ts';
import { createPostgres } from '../lib/data/postgres.ts';
import { createRedis } from '../lib/data/redis.ts';
import { DependencyUnavailable } from '../lib/errors.ts';
import type { ConsumerOutcome } from '../lib/events/consumer.ts';
import { createInbox } from '../lib/inbox/inbox.ts';
import { createMailSender, smtpTransport } from '../lib/inbox/mail.ts';
import { createPreferencesStore } from '../lib/inbox/preferences.ts';
import { createRuntime, type Runtime } from '../lib/runtime.ts';
import { createNotify } from './notify.ts';

export const NotifySettings = Type.Object({
  DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
  PG_POOL_MAX: Type.Integer({ minimum: 1, maximum: 20, default: 4 }),
  /** Vault provides it in the cluster (required there); the local default keeps `npm start` running without one. */
  MONGO_URL: Type.String({ pattern: '^mongodb(\\+srv)?://', default: 'mongodb://127.0.0.1:27017' }),
  /** Database of the inboxes (collection `notifications`). */
  MONGO_DATABASE: Type.String({ minLength: 1, maxLength: 63, default: 'isekai' }),
  /** As MONGO_URL: from Vault (shared `redis`) in the cluster, the local server by default. */
  REDIS_URL: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379' }),
  /** Prefix of the live channels: `<prefix>notifications:<userId>` (notifications uses the same). */
  REDIS_KEY_PREFIX: Type.String({ default: 'isekai:' }),
  /**
   * Database of the subtitle metadata (collection `subtitles`, written by upload-subtitle): an aired
   * episode whose subtitles are already there becomes one combined alert. Default: MONGO_DATABASE.
   */
  SUBTITLES_MONGO_DATABASE: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}$' })),
  /** How long a notification stays in an inbox (MongoDB TTL index on expiresAt). */
  NOTIFICATION_TTL_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
  /**
   * SMTP server of the notification e-mails (nodemailer URL, `smtp://user:pass@host:587` or `smtps://…`),
   * from Vault's shared `mail` secret in the cluster. Unset: mails are queued (mail_outbox) but not sent.
   */
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  /** From header of the notification e-mails. */
  MAIL_FROM: Type.String({ minLength: 3, default: 'Isekai <no-reply@isekai.dev>' }),
  /** Public origin of the API: unsubscribe links are `<API_PUBLIC_URL>/unsubscribe?token=…`. */
  API_PUBLIC_URL: Type.String({ format: 'uri', default: 'https://api.isekai.dev' }),
  /** HMAC-SHA256 key of the unsubscribe links (Vault's shared `mail` secret; notify and notifications share it). */
  UNSUBSCRIBE_KEY: Type.String({ minLength: 32, default: 'dev-only-unsubscribe-key-change-me-0000' }),
});

/** notify wired from the environment (what index.ts registers, once at start-up); fails fast naming a bad setting. */
export function notifyFromEnv(env: NodeJS.ProcessEnv = process.env): {
  runtime: Runtime;
  handler: (event: CloudEventV1<unknown>) => Promise<ConsumerOutcome>;
} {
  const settings = loadConfig(NotifySettings, env);
  const runtime = createRuntime('notify', { env });
  const db = createPostgres(runtime, { url: settings.DATABASE_URL, max: settings.PG_POOL_MAX });
  const mongo = createMongo(runtime, settings.MONGO_URL);
  const redis = createRedis(runtime, { url: settings.REDIS_URL });
  const inbox = createInbox(mongo.db(settings.MONGO_DATABASE));
  const subtitles = mongo
    .db(settings.SUBTITLES_MONGO_DATABASE ?? settings.MONGO_DATABASE)
    .collection('subtitles');
  const subtitleLanguages = async (animeId: number, episode: number): Promise<string[]> => {
    try {
      const found = await subtitles.distinct('language', { animeId, episode, status: 'published' });
      return found.map(String);
    } catch (error) {
      throw new DependencyUnavailable('mongodb', { cause: error });
    }
  };
  const mailDb = mongo.db(settings.MONGO_DATABASE);
  const smtpUrl = settings.SMTP_URL;
  const sender = smtpUrl
    ? createMailSender({
        db: mailDb,
        transport: smtpTransport(smtpUrl),
        from: settings.MAIL_FROM,
        unsubscribeKey: settings.UNSUBSCRIBE_KEY,
        apiUrl: settings.API_PUBLIC_URL,
      })
    : undefined;
  const handler = createNotify({
    subtitleLanguages,
    mailDb,
    ...(sender ? { afterEvent: () => sender.sendDue(), onTick: () => sender.sendDue() } : {}),
    preferences: createPreferencesStore(mongo.db(settings.MONGO_DATABASE)),
    runtime,
    db,
    inbox,
    redis,
    keyPrefix: settings.REDIS_KEY_PREFIX,
    ttlDays: settings.NOTIFICATION_TTL_DAYS,
  });
  return { runtime, handler };
}

/** Settings schemas notify parses at start-up (with BaseSettings). */
export const settings = [NotifySettings] as const;
/**
 * Settings Vault provides in the cluster (they carry credentials): DATABASE_URL and MONGO_URL from
 * kv/data/isekai/notify/config, REDIS_URL from kv/data/isekai/shared/redis, UNSUBSCRIBE_KEY (and
 * SMTP_URL once an operator adds it) from kv/data/isekai/shared/mail. Never set in a manifest.
 */
export const vaultSettings: readonly string[] = ['DATABASE_URL', 'MONGO_URL', 'REDIS_URL', 'UNSUBSCRIBE_KEY'];
/** Shared Vault secrets (kv/data/isekai/shared/<name>) it reads. */
export const sharedSecrets: readonly string[] = ['redis', 'mail'];
