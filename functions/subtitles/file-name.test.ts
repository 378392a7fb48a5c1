import { describe, expect, it } from 'vitest';
import { attachment, downloadFileName } from './file-name.ts';

const doc = {
  animeId: 1,
  animeTitle: 'Cowboy Bebop',
  episode: 5,
  language: 'en',
  release: '[SubsPlease] Cowboy Bebop - 05 (1080p)',
  uploaderName: 'alice',
};

describe('download file names', () => {
  it.each([
    ['the group from the release name', doc, 'srt', 'Cowboy Bebop - 05 [SubsPlease].en.srt'],
    [
      'the uploader without a group',
      { ...doc, release: 'BD 1080p' },
      'vtt',
      'Cowboy Bebop - 05 [alice].en.vtt',
    ],
    [
      'episodes past 99 unpadded',
      { ...doc, episode: 1000 },
      'ass',
      'Cowboy Bebop - 1000 [SubsPlease].en.ass',
    ],
    [
      'unsafe characters replaced',
      { ...doc, animeTitle: 'Re:Zero / "Kara"' },
      'srt',
      'Re Zero Kara - 05 [SubsPlease].en.srt',
    ],
    [
      'no title stored (older uploads)',
      { ...doc, animeTitle: undefined },
      'srt',
      'anime 1 - 05 [SubsPlease].en.srt',
    ],
  ])('names %s', (_name, d, ext, name) => {
    expect(downloadFileName(d, ext)).toBe(name);
  });

  it('names a bulk download by its episode range', () => {
    expect(downloadFileName({ ...doc, release: null, uploaderName: '' }, 'zip', '01-12')).toBe(
      'Cowboy Bebop - 01-12.en.zip',
    );
  });

  it('writes an RFC 6266 header: an ASCII filename and the exact UTF-8 filename*', () => {
    expect(attachment('Shingeki no Kyojin – 進撃 - 05 [Ä].ja.srt')).toBe(
      `attachment; filename="Shingeki no Kyojin _ __ - 05 [A].ja.srt"; filename*=UTF-8''Shingeki%20no%20Kyojin%20%E2%80%93%20%E9%80%B2%E6%92%83%20-%2005%20%5B%C3%84%5D.ja.srt`,
    );
  });
});
