import { describe, expect, it } from 'vitest';
import { notificationLinks } from './notification-link.ts';
import { shownMessage } from './notifications.ts';

const subtitleId = '6745f0c2a1b2c3d4e5f60718';

describe('where a notification leads', () => {
  it.each([
    [
      'a report in the moderators’ inbox → the moderation page of its subtitle, not the anime',
      { kind: 'subtitle.reported', inbox: 'moderation', animeId: 7, data: { subtitleId } },
      [{ href: `/mod/subtitles/${subtitleId}`, label: 'review the subtitle' }],
    ],
    [
      'a decision on the reader’s upload → the subtitle’s page (a 410 page once removed or hidden), then the anime',
      { kind: 'subtitle.hidden', inbox: 'personal', animeId: 7, data: { subtitleId } },
      [
        { href: `/subtitles/${subtitleId}`, label: 'open the subtitle' },
        { href: '/anime/7#subtitles', label: 'open the anime' },
      ],
    ],
    [
      'an aired episode → the anime',
      { kind: 'episode.aired', inbox: 'personal', animeId: 7, data: { episode: 3 } },
      [{ href: '/anime/7#subtitles', label: 'open the anime' }],
    ],
    [
      'a subtitle id that is not one is not linked',
      { kind: 'subtitle.removed', inbox: 'personal', animeId: null, data: { subtitleId: '../x' } },
      [],
    ],
  ])('%s', (_name, notification, links) => {
    expect(notificationLinks(notification)).toEqual(links);
  });
});

describe('what a notification says', () => {
  it('a report shows its category’s label, also in notifications stored with the raw category', () => {
    const data = { reason: 'out_of_sync', subtitleId, episode: 4 };
    expect(
      shownMessage({
        kind: 'subtitle.reported',
        message: `Subtitle ${subtitleId} for Mushishi episode 4 was reported (out_of_sync)`,
        data,
      }),
    ).toBe(`Subtitle ${subtitleId} for Mushishi episode 4 was reported: Out of sync`);
    expect(shownMessage({ kind: 'episode.aired', message: 'Mushishi episode 4 has aired', data: {} })).toBe(
      'Mushishi episode 4 has aired',
    );
  });
});
