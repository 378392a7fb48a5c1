import type pg from 'pg';
import type { SubtitleRemovedV1, SubtitleUploadedV1 } from '../../events/catalogue.ts';
import { parseAnimeId } from '../lib/anime-id.ts';
import type { CheckedEvent } from '../lib/events/validate-event.ts';
import { AIRED, REMOVED, REPORTED, UPLOADED } from './messages.ts';
import {
  AIRED_STATUSES,
  type Candidate,
  removedRecipients,
  reportedRecipients,
  UPLOAD_STATUSES,
  uploadRecipients,
} from './recipients.ts';

/** Who an event notifies (inbox ids) and the anime's catalogue title, read in the consumer's transaction. */
export interface Audience {
  readonly inboxes: string[];
  readonly animeTitle: string | undefined;
}

/** The anime an event is about: `data.animeId` (an integer in every catalogue type). */
export function animeIdOf(event: CheckedEvent<unknown>): number | undefined {
  return parseAnimeId((event.data as { animeId?: unknown } | undefined)?.animeId);
}

/**
 * Read an event's recipients from PostgreSQL (library_entries × users) and apply the rules of
 * recipients.ts. The anime is `data.animeId`, validated as a catalogue id by the event schema.
 */
export async function audienceOf(tx: pg.ClientBase, event: CheckedEvent<unknown>): Promise<Audience> {
  const animeId = animeIdOf(event);
  const animeTitle =
    animeId === undefined
      ? undefined
      : ((await tx.query<{ title: string }>('select title from anime where id = $1', [animeId])).rows[0]
          ?.title ?? undefined);
  const onList = async (statuses: readonly string[]): Promise<Candidate[]> => {
    if (animeId === undefined) return [];
    const { rows } = await tx.query<{ user_id: string; langs: string[] }>(
      `select e.user_id, u.preferred_subtitle_languages as langs
         from library_entries e join users u on u.id = e.user_id
        where e.anime_id = $1 and e.status = any($2::text[])
        order by e.user_id`,
      [animeId, statuses],
    );
    return rows.map((r) => ({ userId: r.user_id, preferredLanguages: r.langs }));
  };
  switch (event.type) {
    case UPLOADED: {
      const d = event.data as SubtitleUploadedV1;
      return { inboxes: uploadRecipients(await onList(UPLOAD_STATUSES), d), animeTitle };
    }
    case AIRED:
      return { inboxes: (await onList(AIRED_STATUSES)).map((c) => c.userId), animeTitle };
    case REPORTED:
      return { inboxes: reportedRecipients(), animeTitle };
    case REMOVED:
      return { inboxes: removedRecipients(event.data as SubtitleRemovedV1), animeTitle };
    default:
      return { inboxes: [], animeTitle };
  }
}
