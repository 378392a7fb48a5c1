/**
 * Where a notification leads (the inbox page and the live list share it; no imports, so the browser script
 * can use it too). A report in the moderators' inbox → the moderation page of its subtitle; a notification
 * about one subtitle (an upload, a decision on yours) → that subtitle's page, which says so with a 410 when
 * it was removed or hidden since; anything else about an anime → the anime's subtitles.
 */
export interface Linkable {
  readonly kind: string;
  readonly animeId: number | null;
  readonly inbox?: string;
  readonly data?: Record<string, unknown>;
}

export interface NotificationLink {
  readonly href: string;
  /** What the link says: `review the subtitle`, `open the subtitle`, `open the anime`. */
  readonly label: string;
}

const SUBTITLE_ID = /^[0-9a-f]{24}$/;

/**
 * The links of a notification, most specific first (none: nothing to open).
 * @example notificationLinks({ kind: 'subtitle.reported', inbox: 'moderation', animeId: 1, data: { subtitleId } })
 *   // [{ href: `/mod/subtitles/${subtitleId}`, label: 'review the subtitle' }]
 */
export function notificationLinks(n: Linkable): NotificationLink[] {
  const raw = n.data?.subtitleId;
  const subtitleId = typeof raw === 'string' && SUBTITLE_ID.test(raw) ? raw : undefined;
  if (subtitleId && (n.inbox === 'moderation' || n.kind === 'subtitle.reported'))
    return [{ href: `/mod/subtitles/${subtitleId}`, label: 'review the subtitle' }];
  const links: NotificationLink[] = [];
  if (subtitleId) links.push({ href: `/subtitles/${subtitleId}`, label: 'open the subtitle' });
  if (n.animeId !== null) links.push({ href: `/anime/${n.animeId}#subtitles`, label: 'open the anime' });
  return links;
}
