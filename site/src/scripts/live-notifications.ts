/**
 * Live notifications on every page of a signed-in viewer: the site's own same-origin stream
 * (/me/notifications/stream, which relays the API's with the token held server-side) read with fetch and
 * a stream reader (not EventSource: the relay could then not be told where to resume). Each notification
 * raises the header's unread badge, is announced in a polite live region, and on the inbox page is added at
 * the top (hiding the empty inbox's "Nothing here yet.", `#inbox-empty`). A dropped stream reconnects with
 * `Last-Event-ID` (the API replays what was missed), backing off from 1 s to 30 s; a 401 (signed out) stops
 * it.
 *
 * The page is rendered with a cursor (`data-cursor` on the body: the newest notification when its unread
 * count was taken, from `GET /notifications/unread-count`) and the stream is opened from it as
 * `Last-Event-ID`: the API replays what came after it (stored between the render and the connection) and
 * drops late live signals of what the count already holds. The stream's first frame carries its own `id:`,
 * so a reconnect before any notification arrived still resumes from there.
 *
 * Each notification is shown once, by id: one the page already lists (the inbox, rendered on the server
 * with `data-id`) or already showed is skipped — no badge, no announcement, no second row (a resume
 * replays in the order they were stored, which can include one a dropped connection already delivered). The badge counts
 * unread ones only.
 */
import { notificationLinks } from '../lib/notification-link.ts';

interface LiveNotification {
  id: string;
  kind: string;
  message: string;
  animeId: number | null;
  createdAt: string;
  readAt?: string | null;
  inbox?: string;
  data?: Record<string, unknown>;
}

export function startLive(doc: Document): void {
  if (doc.body.dataset.live !== 'on') return;
  let lastId: string | undefined = doc.body.dataset.cursor || undefined;
  let delay = 1000;
  /** Notification ids on the page: the server-rendered ones, then each one shown live. */
  const seen = new Set<string>();
  for (const el of doc.querySelectorAll<HTMLElement>('.notification[data-id]'))
    if (el.dataset.id) seen.add(el.dataset.id);

  /** Raise the badge by one unread notification. */
  const raiseBadge = () => {
    const badge = doc.getElementById('unread-badge');
    if (!badge) return;
    const count = (Number(badge.dataset.count) || 0) + 1;
    badge.dataset.count = String(count);
    badge.hidden = false;
    const number = badge.querySelector('.unread');
    if (number) number.textContent = String(count);
    const label = badge.querySelector('.visually-hidden');
    if (label) label.textContent = ` (${count} unread)`;
  };

  const show = (n: LiveNotification) => {
    if (typeof n.id !== 'string' || seen.has(n.id)) return;
    seen.add(n.id);
    if (!n.readAt) raiseBadge();
    const text = n.inbox === 'moderation' ? `Moderation: ${n.message}` : n.message;
    const toast = doc.getElementById('live-toast');
    if (toast) toast.textContent = text;
    const list = doc.getElementById('live-list');
    if (list) {
      const item = doc.createElement('li');
      item.className = 'notification unread-item';
      item.dataset.id = n.id;
      const p = doc.createElement('p');
      const span = doc.createElement('span');
      span.className = 'message';
      span.textContent = text;
      p.append(span);
      for (const link of notificationLinks(n)) {
        const a = doc.createElement('a');
        a.href = link.href;
        a.textContent = link.label;
        p.append(' · ', a);
      }
      item.append(p);
      list.prepend(item);
      const empty = doc.getElementById('inbox-empty');
      if (empty) empty.hidden = true;
    }
  };

  const handle = (block: string) => {
    let id: string | undefined;
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const at = line.indexOf(':');
      const name = at < 0 ? line : line.slice(0, at);
      const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
      if (name === 'id') id = value;
      else if (name === 'event') event = value;
      else if (name === 'data') data.push(value);
    }
    if (id) lastId = id;
    if (event !== 'notification' || data.length === 0) return;
    try {
      show(JSON.parse(data.join('\n')) as LiveNotification);
    } catch {
      // not JSON: ignore the frame
    }
  };

  const connect = async (): Promise<void> => {
    try {
      const res = await fetch('/me/notifications/stream', {
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (res.status === 401) return;
      if (!res.ok || !res.body) throw new Error(`stream answered ${res.status}`);
      doc.body.dataset.liveConnected = 'true';
      delay = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n?/g, '\n');
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          handle(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch {
      // network error or a refused stream: retry below
    }
    doc.body.dataset.liveConnected = 'false';
    setTimeout(() => void connect(), delay);
    delay = Math.min(delay * 2, 30_000);
  };
  void connect();
}
