import type {
  EpisodeAiredV1,
  SubtitleRemovedV1,
  SubtitleReportedV1,
  SubtitleUploadedV1,
} from '../../events/catalogue.ts';
import { ValidationFailed } from '../lib/errors.ts';
import type { CheckedEvent } from '../lib/events/validate-event.ts';
import type { NotificationKind } from '../lib/inbox/inbox.ts';

export const UPLOADED = 'dev.isekai.subtitle.uploaded.v1';
export const AIRED = 'dev.isekai.episode.aired.v1';
export const REPORTED = 'dev.isekai.subtitle.reported.v1';
export const REMOVED = 'dev.isekai.subtitle.removed.v1';
/** The event types notify consumes (one Trigger each in knative/base/400-notify.yaml). */
export const NOTIFY_TYPES: readonly string[] = [UPLOADED, AIRED, REPORTED, REMOVED];

/** What a notification says, before it is addressed to inboxes. */
export interface Draft {
  readonly kind: NotificationKind;
  readonly message: string;
  readonly data: Record<string, unknown>;
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
        message: `Subtitle ${d.subtitleId} for ${anime} episode ${d.episode} was reported (${d.reason})`,
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
        message: `Your subtitle for ${anime} episode ${d.episode} was removed (${d.reason})`,
        data: {
          subtitleId: d.subtitleId,
          episode: d.episode,
          reason: d.reason,
          ...(d.note ? { note: d.note } : {}),
        },
      };
    }
    default:
      throw new ValidationFailed(`notify does not consume ${event.type}`);
  }
}
