import type pg from 'pg';
import type {
  EpisodeAiredV1,
  GroupInvitationAnsweredV1,
  GroupInvitedV1,
  GroupProjectUpdatedV1,
  SubtitleHiddenV1,
  SubtitleRemovedV1,
  SubtitleRestoredV1,
  SubtitleUploadedV1,
} from '../../events/catalogue.ts';
import { parseAnimeId } from '../lib/anime-id.ts';
import { Unprocessable } from '../lib/errors.ts';
import type { CheckedEvent } from '../lib/events/validate-event.ts';
import type { NotificationKind } from '../lib/inbox/inbox.ts';
import {
  AIRED,
  ANSWERED,
  type Draft,
  draftFor,
  HIDDEN,
  INVITED,
  nextEpisodeDraft,
  PROJECT_UPDATED,
  REMOVED,
  REPORTED,
  RESTORED,
  UPLOADED,
} from './messages.ts';
import {
  AIRED_STATUSES,
  type Candidate,
  decisionRecipients,
  removedRecipients,
  reportedRecipients,
  UPLOAD_STATUSES,
  uploadRecipients,
  wantsLanguage,
} from './recipients.ts';

/** Statuses whose "next episode" is progress + 1. */
export const NEXT_EPISODE_STATUSES: readonly string[] = ['watching', 'rewatching'];

/** One notification to write: which inbox, what it says. */
export interface Delivery {
  readonly inbox: string;
  readonly draft: Draft;
}

/** What an event does to the inboxes: notifications to add, and open ones it closes (an answered invitation). */
export interface Plan {
  readonly deliveries: Delivery[];
  readonly close?: {
    readonly kind: NotificationKind;
    readonly key: string;
    readonly value: string;
    readonly outcome: string;
  };
}

/** Languages of the published subtitles of one episode (the subtitle database); [] when none. */
export type SubtitleLanguages = (animeId: number, episode: number) => Promise<string[]>;

/** The anime an event is about: `data.animeId` (an integer in every catalogue type that has one). */
export function animeIdOf(event: CheckedEvent<unknown>): number | undefined {
  return parseAnimeId((event.data as { animeId?: unknown } | undefined)?.animeId);
}

interface Watcher extends Candidate {
  readonly status: string;
  readonly progress: number;
}

const isNext = (w: Watcher, episode: number) =>
  NEXT_EPISODE_STATUSES.includes(w.status) && w.progress + 1 === episode;

/**
 * Plan an event's notifications from PostgreSQL (library_entries × users, group followers) in the
 * consumer's transaction, applying recipients.ts:
 * - subtitle.uploaded: a user watching the anime whose next episode (progress + 1) it is, in one of their
 *   languages, gets the prominent next-episode alert; other interested users the ordinary one;
 * - episode.aired: a watcher for whom it is the next episode and whose languages already have subtitles
 *   gets one combined notification (aired + subtitles), never two; other watchers the ordinary one; an
 *   anime the catalogue does not hold → Unprocessable (422: dead-lettered, not retried);
 * - group.invited: the invitee, with accept / decline actions; group.invitation.answered closes it;
 * - subtitle.removed / hidden / restored: the uploader (not when the decision was their own);
 * - group.project.updated releasing an episode: the group's followers.
 */
export async function planFor(
  tx: pg.ClientBase,
  event: CheckedEvent<unknown>,
  subtitleLanguages: SubtitleLanguages,
): Promise<Plan> {
  const animeId = animeIdOf(event);
  const title =
    animeId === undefined
      ? undefined
      : ((await tx.query<{ title: string }>('select title from anime where id = $1', [animeId])).rows[0]
          ?.title ?? undefined);
  const anime = title ?? `anime ${String(animeId)}`;
  const onList = async (statuses: readonly string[]): Promise<Watcher[]> => {
    if (animeId === undefined) return [];
    const { rows } = await tx.query<{ user_id: string; langs: string[]; status: string; progress: number }>(
      `select e.user_id, u.preferred_subtitle_languages as langs, e.status, e.progress
         from library_entries e join users u on u.id = e.user_id
        where e.anime_id = $1 and e.status = any($2::text[])
        order by e.user_id`,
      [animeId, statuses],
    );
    return rows.map((r) => ({
      userId: r.user_id,
      preferredLanguages: r.langs,
      status: r.status,
      progress: r.progress,
    }));
  };
  const to = (inboxes: readonly string[], draft: Draft): Delivery[] =>
    inboxes.map((inbox) => ({ inbox, draft }));
  switch (event.type) {
    case UPLOADED: {
      const d = event.data as SubtitleUploadedV1;
      const watchers = await onList(UPLOAD_STATUSES);
      const wanted = new Set(uploadRecipients(watchers, d));
      const next = new Set(
        watchers.filter((w) => wanted.has(w.userId) && isNext(w, d.episode)).map((w) => w.userId),
      );
      const prominent = nextEpisodeDraft(anime, d.episode, [d.language], {
        subtitleId: d.subtitleId,
        language: d.language,
        format: d.format,
      });
      return {
        deliveries: [
          ...to([...next], prominent),
          ...to(
            [...wanted].filter((u) => !next.has(u)),
            draftFor(event, title),
          ),
        ],
      };
    }
    case AIRED: {
      const d = event.data as EpisodeAiredV1;
      // A partner's event about an anime the catalogue does not hold cannot be applied: refused for good
      // (422: not retried, so the broker dead-letters it and `dead-letters` records it for the operators,
      // who replay it once the anime is imported), never acknowledged as if it had been.
      if (title === undefined)
        throw new Unprocessable(`anime ${d.animeId} is not in the catalogue`, {
          issues: [{ field: '/data/animeId', message: 'is not an anime of the catalogue' }],
        });
      const watchers = await onList(AIRED_STATUSES);
      const nextOnes = watchers.filter((w) => isNext(w, d.episode));
      const present =
        nextOnes.length > 0 && animeId !== undefined ? await subtitleLanguages(animeId, d.episode) : [];
      const deliveries: Delivery[] = [];
      for (const w of watchers) {
        const langs = isNext(w, d.episode)
          ? [...new Set(present.filter((l) => wantsLanguage(w.preferredLanguages, l)))].sort()
          : [];
        deliveries.push({
          inbox: w.userId,
          draft:
            langs.length > 0
              ? nextEpisodeDraft(anime, d.episode, langs, { airedAt: d.airedAt }, true)
              : draftFor(event, title),
        });
      }
      return { deliveries };
    }
    case REPORTED:
      return { deliveries: to(reportedRecipients(), draftFor(event, title)) };
    case REMOVED:
      return { deliveries: to(removedRecipients(event.data as SubtitleRemovedV1), draftFor(event, title)) };
    case HIDDEN: {
      const d = event.data as SubtitleHiddenV1;
      return { deliveries: to(decisionRecipients({ ...d, by: d.hiddenBy }), draftFor(event, title)) };
    }
    case RESTORED: {
      const d = event.data as SubtitleRestoredV1;
      return { deliveries: to(decisionRecipients({ ...d, by: d.restoredBy }), draftFor(event, title)) };
    }
    case INVITED: {
      const d = event.data as GroupInvitedV1;
      return { deliveries: to([d.userId], draftFor(event, title)) };
    }
    case ANSWERED: {
      const d = event.data as GroupInvitationAnsweredV1;
      return {
        deliveries: [],
        close: { kind: 'group.invited', key: 'invitationId', value: d.invitationId, outcome: d.answer },
      };
    }
    case PROJECT_UPDATED: {
      const d = event.data as GroupProjectUpdatedV1;
      if (d.releasedEpisode === null) return { deliveries: [] };
      const { rows } = await tx.query<{ user_id: string }>(
        'select user_id from group_followers where group_id = $1 order by user_id',
        [d.groupId],
      );
      return {
        deliveries: to(
          rows.map((r) => r.user_id),
          draftFor(event, title),
        ),
      };
    }
    default:
      return { deliveries: [] };
  }
}
