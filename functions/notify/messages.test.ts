import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../lib/errors.ts';
import type { CheckedEvent } from '../lib/events/validate-event.ts';
import { AIRED, draftFor, HIDDEN, REMOVED, REPORTED, RESTORED, UPLOADED } from './messages.ts';

const event = (type: string, data: Record<string, unknown>) =>
  ({
    specversion: '1.0',
    id: 'e1',
    source: '/t',
    type,
    subject: '7',
    data: { animeId: 7, ...data },
  }) as CheckedEvent<unknown>;

describe('draftFor', () => {
  it.each([
    [
      'an upload names the language and episode',
      event(UPLOADED, { subtitleId: 's1', episode: 3, language: 'pt-BR', format: 'ass' }),
      'subtitle.uploaded',
      'New PT-BR subtitles for Mushishi episode 3',
    ],
    [
      'an aired episode',
      event(AIRED, { episode: 4, airedAt: '2026-11-23T16:00:00Z' }),
      'episode.aired',
      'Mushishi episode 4 has aired',
    ],
    [
      'a report names its category by its label',
      event(REPORTED, { reportId: 'r', subtitleId: 's1', episode: 1, reason: 'spam' }),
      'subtitle.reported',
      'Subtitle s1 for Mushishi episode 1 was reported: Spam or not a subtitle',
    ],
    [
      'a removal tells the uploader why',
      event(REMOVED, { subtitleId: 's1', episode: 2, reason: 'moderation' }),
      'subtitle.removed',
      'Your subtitle for Mushishi episode 2 was removed (moderation)',
    ],
    [
      'a removal with reports names their categories',
      event(REMOVED, { subtitleId: 's1', episode: 2, reason: 'moderation', reasons: ['wrong_episode'] }),
      'subtitle.removed',
      'Your subtitle for Mushishi episode 2 was removed (moderation) (reported as: Wrong episode)',
    ],
    [
      'a hide tells the uploader the reports’ categories, never their words',
      event(HIDDEN, {
        subtitleId: 's1',
        episode: 2,
        reasons: ['out_of_sync', 'spam'],
        note: 'Checking.',
      }),
      'subtitle.hidden',
      'Your subtitle for Mushishi episode 2 was hidden by a moderator (reported as: Out of sync, Spam or not a subtitle); it is out of search and downloads until restored',
    ],
    [
      'a restore',
      event(RESTORED, { subtitleId: 's1', episode: 2 }),
      'subtitle.restored',
      'Your subtitle for Mushishi episode 2 was restored by a moderator: searchable and downloadable again',
    ],
  ])('%s', (_name, e, kind, message) => {
    expect(draftFor(e, 'Mushishi')).toMatchObject({ kind, message });
  });

  it('falls back to the anime id when the catalogue has no title', () => {
    expect(draftFor(event(AIRED, { episode: 1, airedAt: 'x' }), undefined).message).toBe(
      'anime 7 episode 1 has aired',
    );
  });

  it('refuses a type notify does not consume', () => {
    expect(() => draftFor(event('dev.isekai.rating.submitted.v1', {}), 'x')).toThrow(ValidationFailed);
  });
});
