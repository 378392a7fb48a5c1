/**
 * Moderation on the site (roles moderator, admin): the report queue (subtitles `GET /subtitles/reports`),
 * a subtitle with its reports and audit log (`GET /subtitles/{id}/audit`), and decisions
 * (`POST /subtitles/{id}/moderation`: remove, hide, restore, keep, with a note).
 */
import type { Api } from './api.ts';
import { ApiProblem } from './api.ts';
import { describeProblem } from './forms.ts';
import type { Subtitle } from './subtitles.ts';

export const MODERATOR_ROLES = ['moderator', 'admin'];
export const isModerator = (roles: readonly string[] | undefined) =>
  (roles ?? []).some((r) => MODERATOR_ROLES.includes(r));

export interface Report {
  id: string;
  subtitleId: string;
  animeId: number;
  episode: number;
  reporterId: string;
  reason: string;
  details?: string | null;
  status: 'open' | 'resolved';
  resolution: { action?: string; note?: string; by?: string; at?: string } | null;
  createdAt: string;
  subtitle: Subtitle | null;
}

export interface AuditEntry {
  subtitleId: string;
  action: string;
  moderatorId: string;
  /** Null on entries written before names were kept. */
  moderatorName: string | null;
  note?: string | null;
  from: string;
  to: string;
  resolvedReports: number;
  at: string;
}

export const ACTIONS = {
  remove: 'Remove (final)',
  hide: 'Hide',
  restore: 'Restore',
  keep: 'Keep (dismiss the reports)',
} as const;

export function loadQueue(api: Api, token: string, status: 'open' | 'resolved', page: number) {
  return api.json<{ items: Report[]; page: number; perPage: number; total: number }>({
    path: `/subtitles/reports?status=${status}&page=${page}&perPage=50`,
    token,
  });
}

/** A subtitle for moderators: its reports (open and resolved, from the queue), the subtitle, its audit log. */
export async function loadCase(api: Api, token: string, id: string) {
  const [open, resolved, audit] = await Promise.all([
    loadQueue(api, token, 'open', 1),
    loadQueue(api, token, 'resolved', 1),
    api.json<{ items: AuditEntry[] }>({ path: `/subtitles/${id}/audit`, token }),
  ]);
  const reports = [...open.items, ...resolved.items].filter((r) => r.subtitleId === id);
  let subtitle = reports.find((r) => r.subtitle)?.subtitle ?? null;
  if (!subtitle) subtitle = await api.json<Subtitle>({ path: `/subtitles/${id}`, token }).catch(() => null);
  return { reports, subtitle, audit: audit.items };
}

export async function applyDecision(
  api: Api,
  token: string,
  id: string,
  form: FormData,
): Promise<{ ok: boolean; message: string }> {
  const action = String(form.get('decision') ?? '');
  if (!(action in ACTIONS)) return { ok: false, message: 'Choose a decision.' };
  const note = String(form.get('note') ?? '').trim();
  try {
    await api.json({
      method: 'POST',
      path: `/subtitles/${id}/moderation`,
      token,
      json: note ? { action, note } : { action },
    });
    return {
      ok: true,
      message: `Decision recorded: ${ACTIONS[action as keyof typeof ACTIONS].toLowerCase()}.`,
    };
  } catch (error) {
    if (error instanceof ApiProblem && (error.status === 409 || error.status === 410))
      return { ok: false, message: `Not possible in the subtitle's current state: ${error.message}` };
    return { ok: false, message: describeProblem(error).message };
  }
}
