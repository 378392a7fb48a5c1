import { describe, expect, it } from 'vitest';
import { makeZip } from '../../test/support/zip.ts';
import type { IsekaiError } from '../lib/errors.ts';
import { episodeFromName, isZip, readZip, ZIP_LIMITS } from './zip.ts';

const SRT = '1\n00:00:01,000 --> 00:00:02,000\nHi\n';
const verdicts = async (zip: Buffer) =>
  (await readZip(zip)).map((m) => ('error' in m ? [m.name, m.error.code] : [m.name, m.bytes.toString()]));
const codeOf = async (work: Promise<unknown>) => {
  try {
    await work;
    return undefined;
  } catch (error) {
    return (error as IsekaiError).code;
  }
};

describe('readZip', () => {
  it('reads stored and deflated files, leaving out directories and __MACOSX metadata', async () => {
    const zip = makeZip([
      { name: 'subs/', data: '' },
      { name: 'subs/ep01.srt', data: SRT },
      { name: 'subs/ep02.srt', data: SRT.repeat(3), deflate: true },
      { name: '__MACOSX/subs/._ep01.srt', data: 'resource fork' },
    ]);
    expect(isZip(zip)).toBe(true);
    expect(await verdicts(zip)).toEqual([
      ['subs/ep01.srt', SRT],
      ['subs/ep02.srt', SRT.repeat(3)],
    ]);
  });

  it.each([
    ['a ../ name', '../../etc/cron.d/x.srt'],
    ['an absolute name', '/etc/passwd.srt'],
    ['a drive-letter name', 'C:/Windows/x.srt'],
    ['a backslash name', '..\\..\\x.srt'],
  ])('refuses %s (that file only)', async (_n, name) => {
    expect(
      await verdicts(
        makeZip([
          { name, data: SRT },
          { name: 'ok.srt', data: SRT },
        ]),
      ),
    ).toEqual([
      [name, 'validation_failed'],
      ['ok.srt', SRT],
    ]);
  });

  it('refuses every copy of a name used twice (letter case aside)', async () => {
    const zip = makeZip([
      { name: 'ep01.srt', data: SRT },
      { name: 'EP01.srt', data: `${SRT}\n` },
      { name: 'ep02.srt', data: SRT },
    ]);
    expect(await verdicts(zip)).toEqual([
      ['ep01.srt', 'validation_failed'],
      ['EP01.srt', 'validation_failed'],
      ['ep02.srt', SRT],
    ]);
  });

  it('refuses a file with a bomb’s compression ratio without inflating it', async () => {
    const bomb = new Uint8Array(10 * 1024 * 1024); // 10 MiB of zeros deflate to ~10 KiB: 1000:1
    expect(await verdicts(makeZip([{ name: 'bomb.srt', data: bomb, deflate: true }]))).toEqual([
      ['bomb.srt', 'validation_failed'],
    ]);
  });

  it('refuses the whole zip when its files would inflate past the total cap (declared sizes, nothing inflated)', async () => {
    const files = Array.from({ length: 5 }, (_, i) => ({
      name: `big${i}.srt`,
      data: SRT,
      declaredSize: 15 * 1024 * 1024,
    }));
    expect(await codeOf(readZip(makeZip(files)))).toBe('unprocessable');
  });

  it('refuses the whole zip when entries share their data (overlapping-entries bomb)', async () => {
    const zip = makeZip([
      { name: 'a.srt', data: SRT, deflate: true },
      { name: 'b.srt', data: SRT, deflate: true, sameDataAs: 0 },
    ]);
    expect(await codeOf(readZip(zip))).toBe('unprocessable');
  });

  it('fails a file that inflates past the size it declares (yauzl checks as it inflates)', async () => {
    const zip = makeZip([{ name: 'liar.srt', data: SRT.repeat(100), deflate: true, declaredSize: 60 }]);
    await expect(readZip(zip)).rejects.toThrow();
  });

  it('refuses more files than the cap, and bytes that are not a zip', async () => {
    const many = Array.from({ length: ZIP_LIMITS.maxEntries + 1 }, (_, i) => ({
      name: `${i}.srt`,
      data: 'x',
    }));
    expect(await codeOf(readZip(makeZip(many)))).toBe('unprocessable');
    expect(await codeOf(readZip(Buffer.from('PK\u0003\u0004 but not really a zip')))).toBe('unprocessable');
  });
});

describe('episodeFromName', () => {
  const NAMES: readonly [string, number | undefined][] = [
    ['Show.S01E05.1080p.WEB.en.srt', 5],
    ['show s02e12.ass', 12],
    ['[SubsPlease] Show - 05 (1080p) [ABCD1234].ass', 5],
    ['[Group] Show - 112v2 [720p].srt', 112],
    ['Show EP07.srt', 7],
    ['Show E03.vtt', 3],
    ['Show [08].srt', 8],
    ['05.srt', 5],
    ['12.en.srt', 12],
    ['Show (1080p).srt', undefined],
    ['movie.srt', undefined],
  ];
  it('covers every naming style in the table', () => expect(NAMES).toHaveLength(11));
  it.each(NAMES)('%s → %s', (name, episode) => expect(episodeFromName(name)).toBe(episode));
});
