import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Collection, Db } from 'mongodb';
import { MongoBulkWriteError } from 'mongodb';
import nodemailer, { type Transporter } from 'nodemailer';
import { DependencyUnavailable, ValidationFailed } from '../errors.ts';
import { isPreferenceType, type PreferenceType } from './preferences.ts';

/** The MongoDB collection (inbox database) of e-mails to send: the durable queue. */
export const MAIL_COLLECTION = 'mail_outbox';

/**
 * One e-mail owed to a user for one notification. `_id` is `<userId>:<eventId>` — the same key as the
 * inbox's unique {userId, eventId} — so queueing twice (a redelivered event) keeps one. `sentAt` is set
 * only after the SMTP server accepted the message (250 to DATA); until then the sender retries it.
 */
export interface PendingMail {
  _id: string;
  userId: string;
  to: string;
  kind: PreferenceType;
  mode: 'immediate' | 'daily-digest';
  subject: string;
  text: string;
  createdAt: Date;
  sentAt: Date | null;
  attempts: number;
  lastError?: string;
  /**
   * The sender's claim: until this instant only the claimer (`leasedBy`, one id per claim) sends it, so
   * two notify pods never send the same mail. Absent or past: free (an expired lease — a claimer that
   * crashed — is claimed again). Removed when sent or when the attempt failed.
   */
  leaseUntil?: Date | null;
  leasedBy?: string;
}

/** Queue mails, ignoring those already queued (idempotent by `_id`). MongoDB down → DependencyUnavailable. */
export async function queueMail(db: Db, mails: PendingMail[]): Promise<void> {
  if (mails.length === 0) return;
  try {
    await db.collection<PendingMail>(MAIL_COLLECTION).insertMany(mails, { ordered: false });
  } catch (error) {
    if (error instanceof MongoBulkWriteError) {
      const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
      if (errors.length > 0 && errors.every((e) => e.code === 11000)) return;
    }
    throw new DependencyUnavailable('mongodb', { cause: error });
  }
}

/**
 * Unsubscribe tokens: `base64url(JSON {u: userId, t: type}) . base64url(HMAC-SHA256(key, payload))`.
 * No login needed: the signature proves the link came from one of our mails.
 */
export function signUnsubscribe(key: string, userId: string, type: PreferenceType): string {
  const payload = Buffer.from(JSON.stringify({ u: userId, t: type })).toString('base64url');
  return `${payload}.${createHmac('sha256', key).update(payload).digest('base64url')}`;
}

/** The user and type a token names; ValidationFailed (400) for a malformed or tampered token. */
export function verifyUnsubscribe(key: string, token: string): { userId: string; type: PreferenceType } {
  const bad = () =>
    new ValidationFailed('the unsubscribe link is invalid or was altered', {
      issues: [{ field: '/query/grant', message: 'is not a valid signed token' }],
    });
  const [payload, signature, ...rest] = token.split('.');
  if (!payload || !signature || rest.length > 0) throw bad();
  const expected = createHmac('sha256', key).update(payload).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw bad();
  try {
    const { u, t } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    if (typeof u === 'string' && typeof t === 'string' && isPreferenceType(t)) return { userId: u, type: t };
  } catch {
    // fall through: a signed but unreadable payload is as bad as a tampered one
  }
  throw bad();
}

/**
 * A nodemailer SMTP transport for `smtp://[user:pass@]host[:port]` (STARTTLS when offered, port 587 by
 * default) or `smtps://…` (implicit TLS, 465), failing within `timeoutMs` when the server is unreachable
 * or silent (nodemailer's defaults wait up to two minutes).
 */
export function smtpTransport(url: string, timeoutMs = 5_000): Transporter {
  const u = new URL(url);
  const secure = u.protocol === 'smtps:';
  return nodemailer.createTransport({
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 465 : 587,
    secure,
    ...(u.username
      ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } }
      : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs * 2,
  });
}

export interface MailSenderOptions {
  readonly db: Db;
  /** A nodemailer transport (SMTP, from SMTP_URL). */
  readonly transport: Transporter;
  /** The From header, e.g. `Isekai <no-reply@isekai.dev>`. */
  readonly from: string;
  /** HMAC key of the unsubscribe links. */
  readonly unsubscribeKey: string;
  /** Public origin of the API (the unsubscribe link is `<apiUrl>/unsubscribe?grant=…`). */
  readonly apiUrl: string;
  readonly now?: () => Date;
  /** At most this many mails per run. */
  readonly batch?: number;
  /**
   * How long a claim lasts (ms, default 120 000): longer than one SMTP attempt can take (the transport
   * gives up within ~3× its timeout), so a lease only expires when its claimer is gone.
   */
  readonly leaseMs?: number;
}

export interface SendReport {
  readonly sent: number;
  readonly failed: number;
}

const startOfUtcDay = (d: Date): Date =>
  new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

/**
 * The sender. `sendDue()` sends every pending immediate mail, and for each user one digest of their
 * pending digest mails created before today (UTC; `now` injectable): a day's notifications in one
 * e-mail. A mail is marked sent only after the SMTP server accepted it; a refusal or an unreachable
 * server leaves it pending (attempts + 1, lastError) for the next run — never lost. Its Message-ID is
 * derived from its id, so a resend after a crash between acceptance and marking is recognisable as
 * the same message. Runs are serialised (one at a time per process), and across processes each mail is
 * first claimed atomically (findOneAndUpdate / updateMany setting `leaseUntil` + `leasedBy` where no live
 * lease exists): two notify pods running at once send each mail once.
 */
export function createMailSender(options: MailSenderOptions): { sendDue(): Promise<SendReport> } {
  const outbox: Collection<PendingMail> = options.db.collection<PendingMail>(MAIL_COLLECTION);
  const now = options.now ?? (() => new Date());
  const domain = (options.from.match(/@([^>\s]+)/)?.[1] ?? 'isekai.invalid').toLowerCase();
  const link = (userId: string, type: PreferenceType) =>
    `${options.apiUrl.replace(/\/$/, '')}/unsubscribe?grant=${signUnsubscribe(options.unsubscribeKey, userId, type)}`;
  let running: Promise<SendReport> | undefined;
  const leaseMs = options.leaseMs ?? 120_000;
  /** Not sent, and no live claim on it. */
  const free = (at: Date) => ({ sentAt: null, $or: [{ leaseUntil: null }, { leaseUntil: { $lte: at } }] });
  const release = { leaseUntil: '', leasedBy: '' } as const;

  async function send(
    to: string,
    subject: string,
    text: string,
    messageKey: string,
    unsubscribe: string[],
  ): Promise<void> {
    await options.transport.sendMail({
      from: options.from,
      to,
      subject,
      text: `${text}\n\n--\n${unsubscribe.map((u) => `Stop these e-mails: ${u}`).join('\n')}\n`,
      messageId: `<${Buffer.from(messageKey).toString('base64url')}@${domain}>`,
      list: { unsubscribe: unsubscribe[0] ?? '' },
    });
  }

  async function failed(ids: string[], error: unknown): Promise<void> {
    await outbox.updateMany(
      { _id: { $in: ids } },
      {
        $inc: { attempts: 1 },
        $set: { lastError: String((error as Error)?.message ?? error).slice(0, 500) },
        $unset: release,
      },
    );
  }

  async function run(): Promise<SendReport> {
    let sent = 0;
    let failures = 0;
    const batch = options.batch ?? 100;
    const tried: string[] = [];
    while (tried.length < batch) {
      const at = now();
      const mail = await outbox.findOneAndUpdate(
        { ...free(at), mode: 'immediate', _id: { $nin: tried } },
        { $set: { leaseUntil: new Date(at.getTime() + leaseMs), leasedBy: randomUUID() } },
        { sort: { createdAt: 1 }, returnDocument: 'after' },
      );
      if (!mail) break;
      tried.push(mail._id);
      try {
        await send(mail.to, mail.subject, mail.text, mail._id, [link(mail.userId, mail.kind)]);
      } catch (error) {
        failures += 1;
        await failed([mail._id], error);
        continue;
      }
      await outbox.updateOne({ _id: mail._id, sentAt: null }, { $set: { sentAt: now() }, $unset: release });
      sent += 1;
    }
    const today = startOfUtcDay(now());
    const candidates = await outbox
      .find({ ...free(now()), mode: 'daily-digest', createdAt: { $lt: today } })
      .sort({ createdAt: 1 })
      .limit(batch * 10)
      .project<{ userId: string }>({ userId: 1 })
      .toArray();
    for (const userId of new Set(candidates.map((c) => c.userId))) {
      // Claim the user's due digest items (each document atomically: a racing sender gets the others, or
      // none), then send only what this claim holds.
      const at = now();
      const claim = randomUUID();
      await outbox.updateMany(
        { ...free(at), userId, mode: 'daily-digest', createdAt: { $lt: today } },
        { $set: { leaseUntil: new Date(at.getTime() + leaseMs), leasedBy: claim } },
      );
      const items = await outbox.find({ leasedBy: claim, sentAt: null }).sort({ createdAt: 1 }).toArray();
      if (items.length === 0) continue;
      const first = items[0] as PendingMail;
      const types = [...new Set(items.map((i) => i.kind))];
      const subject = `Your Isekai digest: ${items.length} notification${items.length === 1 ? '' : 's'}`;
      const text = items.map((i) => `* ${i.subject}\n  ${i.text}`).join('\n');
      const ids = items.map((i) => i._id);
      try {
        await send(
          first.to,
          subject,
          text,
          `digest:${ids.join(',')}`,
          types.map((t) => link(userId, t)),
        );
      } catch (error) {
        failures += 1;
        await failed(ids, error);
        continue;
      }
      await outbox.updateMany(
        { _id: { $in: ids }, sentAt: null },
        { $set: { sentAt: now() }, $unset: release },
      );
      sent += 1;
    }
    return { sent, failed: failures };
  }

  return {
    sendDue() {
      const previous = running ?? Promise.resolve({ sent: 0, failed: 0 });
      const next = previous.catch(() => undefined).then(() => run());
      running = next;
      return next.catch((error: unknown) => {
        throw new DependencyUnavailable('mongodb', { cause: error });
      });
    },
  };
}
