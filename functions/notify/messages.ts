import type {
  EpisodeAiredV1,
  GroupInvitedV1,
  GroupProjectUpdatedV1,
  SubtitleHiddenV1,
  SubtitleRemovedV1,
  SubtitleReportedV1,
  SubtitleRestoredV1,
  SubtitleUploadedV1,
} from '../../events/catalogue.ts';
import { ValidationFailed } from '../lib/errors.ts';
import type { CheckedEvent } from '../lib/events/validate-event.ts';
import type { NotificationAction, NotificationKind } from '../lib/inbox/inbox.ts';
import { reportReasonLabel } from '../lib/subtitles/report-reasons.ts';

export const UPLOADED = 'dev.isekai.subtitle.uploaded.v1';
export const AIRED = 'dev.isekai.episode.aired.v1';
export const REPORTED = 'dev.isekai.subtitle.reported.v1';
export const REMOVED = 'dev.isekai.subtitle.removed.v1';
export const HIDDEN = 'dev.isekai.subtitle.hidden.v1';
export const RESTORED = 'dev.isekai.subtitle.restored.v1';
export const INVITED = 'dev.isekai.group.invited.v1';
export const ANSWERED = 'dev.isekai.group.invitation.answered.v1';
export const PROJECT_UPDATED = 'dev.isekai.group.project.updated.v1';
/** The event types notify consumes (one Trigger each in knative/base/400-notify.yaml). */
export const NOTIFY_TYPES: readonly string[] = [
  UPLOADED,
  AIRED,
  REPORTED,
  REMOVED,
  HIDDEN,
  RESTORED,
  INVITED,
  ANSWERED,
  PROJECT_UPDATED,
];

/** ` (reported as: Out of sync, Wrong episode)` for a decision's report categories; '' without any. */
function reportedAs(reasons: readonly string[] | undefined): string {
  return reasons && reasons.length > 0 ? ` (reported as: ${reasons.map(reportReasonLabel).join(', ')})` : '';
}

const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });
/** A BCP 47 tag's English name (`en` → English, `pt-BR` → Brazilian Portuguese); the tag when unknown. */
export function languageName(tag: string): string {
  try {
    return languageNames.of(tag) ?? tag;
  } catch {
    return tag;
  }
}

/**
 * The prominent alert for a subtitle of the episode a user watches next (their progress + 1).
 * @example nextEpisodeDraft('Mushishi', 6, ['en']).message === 'Subtitles for your next episode: Mushishi episode 6, English'
 */
export function nextEpisodeDraft(
  anime: string,
  episode: number,
  languages: readonly string[],
  extra: Record<string, unknown> = {},
  aired = false,
): Draft {
  const names = languages.map(languageName).join(', ');
  return {
    kind: 'subtitle.next-episode',
    message: aired
      ? `${anime} episode ${episode} has aired. Subtitles for your next episode: ${anime} episode ${episode}, ${names}`
      : `Subtitles for your next episode: ${anime} episode ${episode}, ${names}`,
    data: { episode, languages: [...languages], aired, ...extra },
    rank: 1,
  };
}

/** What a notification says, before it is addressed to inboxes. */
export interface Draft {
  readonly kind: NotificationKind;
  readonly message: string;
  readonly data: Record<string, unknown>;
  readonly actions?: NotificationAction[];
  /** 1: ranked first in the inbox until read. */
  readonly rank?: number;
}

/**
 * The notification an event becomes (pure). `animeTitle` is the catalogue title when known.
 * @example draftFor(uploadedEvent, 'Mushishi').message === 'New EN subtitles for Mushishi episode 3'
 */
export function draftFor(event: CheckedEvent<unknown>, animeTitle: string | undefined): Draft {
  const anime = animeTitle ?? `anime ${String((event.data as { animeId?: unknown }).animeId)}`;
  switch (event.type) {
    case UPLOADED: {
      const d = event.data as SubtitleUploadedV1;
      return {
        kind: 'subtitle.uploaded',
        message: `New ${d.language.toUpperCase()} subtitles for ${anime} episode ${d.episode}`,
        data: { subtitleId: d.subtitleId, episode: d.episode, language: d.language, format: d.format },
      };
    }
    case AIRED: {
      const d = event.data as EpisodeAiredV1;
      return {
        kind: 'episode.aired',
        message: `${anime} episode ${d.episode} has aired`,
        data: { episode: d.episode, airedAt: d.airedAt, ...(d.title ? { title: d.title } : {}) },
      };
    }
    case REPORTED: {
      const d = event.data as SubtitleReportedV1;
      return {
        kind: 'subtitle.reported',
        message: `Subtitle ${d.subtitleId} for ${anime} episode ${d.episode} was reported: ${reportReasonLabel(d.reason)}`,
        data: {
          reportId: d.reportId,
          subtitleId: d.subtitleId,
          episode: d.episode,
          reason: d.reason,
          uploaderId: d.uploaderId,
          reporterId: d.reporterId,
          ...(d.comment ? { comment: d.comment } : {}),
        },
      };
    }
    case REMOVED: {
      const d = event.data as SubtitleRemovedV1;
      return {
        kind: 'subtitle.removed',
        message: `Your subtitle for ${anime} episode ${d.episode} was removed (${d.reason})${reportedAs(d.reasons)}`,
        data: {
          subtitleId: d.subtitleId,
          episode: d.episode,
          reason: d.reason,
          ...(d.reasons ? { reasons: d.reasons } : {}),
          ...(d.note ? { note: d.note } : {}),
        },
      };
    }
    case HIDDEN: {
      const d = event.data as SubtitleHiddenV1;
      return {
        kind: 'subtitle.hidden',
        message: `Your subtitle for ${anime} episode ${d.episode} was hidden by a moderator${reportedAs(d.reasons)}; it is out of search and downloads until restored`,
        data: {
          subtitleId: d.subtitleId,
          episode: d.episode,
          ...(d.reasons ? { reasons: d.reasons } : {}),
          ...(d.note ? { note: d.note } : {}),
        },
      };
    }
    case RESTORED: {
      const d = event.data as SubtitleRestoredV1;
      return {
        kind: 'subtitle.restored',
        message: `Your subtitle for ${anime} episode ${d.episode} was restored by a moderator: searchable and downloadable again`,
        data: { subtitleId: d.subtitleId, episode: d.episode, ...(d.note ? { note: d.note } : {}) },
      };
    }
    case INVITED: {
      const d = event.data as GroupInvitedV1;
      const roles = d.roles.map((r) => r.replace('_', ' ')).join(', ');
      return {
        kind: 'group.invited',
        message: `You are invited to join ${d.groupName} as ${roles}`,
        data: {
          invitationId: d.invitationId,
          groupId: d.groupId,
          groupSlug: d.groupSlug,
          groupName: d.groupName,
          roles: d.roles,
          invitedBy: d.invitedBy,
        },
        actions: [
          {
            name: 'accept',
            label: 'Accept',
            method: 'POST',
            url: `/group-invitations/${d.invitationId}/accept`,
          },
          {
            name: 'decline',
            label: 'Decline',
            method: 'POST',
            url: `/group-invitations/${d.invitationId}/decline`,
          },
        ],
      };
    }
    case PROJECT_UPDATED: {
      const d = event.data as GroupProjectUpdatedV1;
      return {
        kind: 'group.release',
        message: `${d.groupName} released ${anime} episode ${String(d.releasedEpisode)} (${languageName(d.language)})`,
        data: {
          groupId: d.groupId,
          groupSlug: d.groupSlug,
          projectId: d.projectId,
          episode: d.releasedEpisode,
          language: d.language,
        },
      };
    }
    default:
      throw new ValidationFailed(`notify does not consume ${event.type}`);
  }
}
