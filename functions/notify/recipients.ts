import { MODERATION_INBOX } from '../lib/inbox/inbox.ts';

/** Library statuses whose users hear of new subtitles (not completed, not dropped). */
export const UPLOAD_STATUSES: readonly string[] = ['watching', 'plan_to_watch', 'on_hold', 'rewatching'];
/** Library statuses whose users hear that a new episode aired. */
export const AIRED_STATUSES: readonly string[] = ['watching'];

/** A user who has the anime on their list, with their subtitle language preferences. */
export interface Candidate {
  readonly userId: string;
  readonly preferredLanguages: readonly string[];
}

/**
 * Whether a user with these preferences wants subtitles in `language` (BCP 47): no preference means
 * every language; a preference matches itself and its regional variants ('pt' wants 'pt-BR'), case aside.
 * @example wantsLanguage(['pt'], 'pt-BR') === true; wantsLanguage(['en'], 'ja') === false
 */
export function wantsLanguage(preferred: readonly string[], language: string): boolean {
  if (preferred.length === 0) return true;
  const lang = language.toLowerCase();
  return preferred.some((p) => {
    const pref = p.toLowerCase();
    return lang === pref || lang.startsWith(`${pref}-`);
  });
}

/** Who hears of an uploaded subtitle: candidates wanting its language, never the uploader. */
export function uploadRecipients(
  candidates: readonly Candidate[],
  upload: { readonly uploaderId: string; readonly language: string },
): string[] {
  return unique(
    candidates
      .filter((c) => c.userId !== upload.uploaderId && wantsLanguage(c.preferredLanguages, upload.language))
      .map((c) => c.userId),
  );
}

/** Who hears that a subtitle was removed: its uploader, unless they removed it themselves. */
export function removedRecipients(removal: {
  readonly uploaderId: string;
  readonly removedBy: string;
}): string[] {
  return removal.uploaderId === removal.removedBy ? [] : [removal.uploaderId];
}

/** Who hears that a subtitle was hidden or restored: its uploader, unless they made the decision themselves. */
export function decisionRecipients(decision: { readonly uploaderId: string; readonly by: string }): string[] {
  return decision.uploaderId === decision.by ? [] : [decision.uploaderId];
}

/**
 * Who hears of a report: the moderation inbox (read by every user with role moderator/admin; users'
 * roles live in their tokens, not in PostgreSQL, so there is no per-moderator fan-out).
 */
export function reportedRecipients(): string[] {
  return [MODERATION_INBOX];
}

function unique(ids: string[]): string[] {
  return [...new Set(ids)];
}
