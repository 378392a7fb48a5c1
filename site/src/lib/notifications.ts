/**
 * Notifications on the site: the header's unread count, the inbox page (notifications `GET /notifications`,
 * mark one / all read) and actions. An action (`{name, label, method, url}`, when the API sends them) is
 * rendered as a button and relayed by the site with the viewer's token; only API paths are relayed.
 */
import { reportReasonLabel } from '../../../functions/lib/subtitles/report-reasons.ts';
import type { Api } from './api.ts';

/** One notification as `GET /notifications` lists it (functions/notifications/api.ts), actions optional. */
export interface Notification {
  id: string;
  kind: string;
  animeId: number | null;
  message: string;
  createdAt: string;
  readAt: string | null;
  inbox: 'personal' | 'moderation';
  /** Per kind (notify's messages.ts), e.g. a removal's `note` from the moderator. */
  data?: Record<string, unknown>;
  actions?: NotificationAction[];
  /** When its action was taken (an invitation answered); null while open. */
  doneAt?: string | null;
}

/** How an answered invitation ended (notify writes `data.outcome` when groups reports the answer). */
const OUTCOMES: Record<string, string> = {
  accepted: 'Accepted',
  declined: 'Declined',
  revoked: 'Withdrawn by the group',
};

/**
 * The answered state of a notification whose action was taken (`doneAt`), e.g. "Accepted" for a group
 * invitation; undefined while it is open or when it never had actions.
 */
export function answeredState(n: Pick<Notification, 'doneAt' | 'data'>): string | undefined {
  if (!n.doneAt) return undefined;
  const outcome = n.data?.outcome;
  return (typeof outcome === 'string' && OUTCOMES[outcome]) || 'Answered';
}

/** The moderator's note of a decision, when the notification carries one. */
export const noteOf = (n: Pick<Notification, 'data'>): string | undefined =>
  typeof n.data?.note === 'string' && n.data.note ? n.data.note : undefined;

/**
 * What a notification says on the page: its message, with a report's category as its label. notify
 * writes the label ("… was reported: Out of sync"); reports stored before it wrote the raw category
 * ("… was reported (out_of_sync)"), shown the same way.
 */
export function shownMessage(n: Pick<Notification, 'kind' | 'message' | 'data'>): string {
  const reason = n.data?.reason;
  if (n.kind !== 'subtitle.reported' || typeof reason !== 'string') return n.message;
  const raw = ` was reported (${reason})`;
  return n.message.endsWith(raw)
    ? `${n.message.slice(0, -raw.length)} was reported: ${reportReasonLabel(reason)}`
    : n.message;
}

export interface NotificationAction {
  name: string;
  label: string;
  method: string;
  url: string;
}

export interface Inbox {
  items: Notification[];
  page: number;
  perPage: number;
  hasMore: boolean;
}

/**
 * The header's unread count and the stream cursor it is as of (`GET /notifications/unread-count`): the
 * page's live script opens the stream from that cursor, so the stream replays exactly what the count left
 * out and never signals what it counted. Undefined when the API cannot say (the badge is then left out).
 */
export async function unreadCount(
  api: Api,
  token: string,
): Promise<{ unread: number; cursor: string } | undefined> {
  try {
    return await api.json<{ unread: number; cursor: string }>({ path: '/notifications/unread-count', token });
  } catch {
    return undefined;
  }
}

export function loadInbox(api: Api, token: string, page: number, unreadOnly: boolean): Promise<Inbox> {
  const q = new URLSearchParams({ page: String(page), perPage: '20' });
  if (unreadOnly) q.set('unread', 'true');
  return api.json<Inbox>({ path: `/notifications?${q}`, token });
}

/** An action's target is relayed only when it is an API path with a plain method (never another host). */
export function relayableAction(action: unknown): action is NotificationAction {
  const a = action as Partial<NotificationAction> | null;
  return (
    typeof a?.url === 'string' &&
    /^\/[A-Za-z0-9/_.~%-]*(\?[A-Za-z0-9=&_.~%-]*)?$/.test(a.url) &&
    !a.url.includes('..') &&
    // `//host/…` would leave the API's origin (a scheme-relative URL).
    !a.url.includes('//') &&
    typeof a.method === 'string' &&
    ['POST', 'PUT', 'PATCH', 'DELETE'].includes(a.method.toUpperCase()) &&
    typeof a.name === 'string' &&
    typeof a.label === 'string'
  );
}

/** The inbox page's forms: mark one read, mark all read, or run one of a notification's actions. */
export async function applyInboxForm(
  api: Api,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string }> {
  const action = String(form.get('action') ?? '');
  const id = String(form.get('id') ?? '');
  if (action === 'read-all') {
    const { marked } = await api.json<{ marked: number }>({
      method: 'POST',
      path: '/notifications/read-all',
      token,
    });
    return { ok: true, message: `${marked} notification${marked === 1 ? '' : 's'} marked read.` };
  }
  if (!/^[0-9a-f]{24}$/.test(id)) return { ok: false, message: 'Unknown notification.' };
  if (action === 'read') {
    await api.json({ method: 'POST', path: `/notifications/${id}/read`, token });
    return { ok: true, message: 'Marked read.' };
  }
  if (action === 'run') {
    // The action is looked up again from the inbox, never taken from the form (no forged targets).
    const name = String(form.get('name') ?? '');
    const page = Number(form.get('page') ?? '1');
    const inbox = await loadInbox(api, token, Number.isInteger(page) && page > 0 ? page : 1, false);
    const found = inbox.items.find((n) => n.id === id)?.actions?.find((a) => a.name === name);
    if (!found || !relayableAction(found)) return { ok: false, message: 'That action is no longer offered.' };
    await api.json({ method: found.method.toUpperCase(), path: found.url, token });
    await api.json({ method: 'POST', path: `/notifications/${id}/read`, token }).catch(() => undefined);
    return { ok: true, message: `${found.label}: done.` };
  }
  return { ok: false, message: 'Unknown action.' };
}
