import { describe, expect, it } from 'vitest';
import type { Cue } from './cue.ts';
import { parseSrt, renderSrt } from './srt.ts';

const cue = (start: number, end: number, text: string, extra: Partial<Cue> = {}): Cue => ({
  start,
  end,
  text,
  ...extra,
});

/** SubRip as players read it (ffmpeg's srtdec, VLC, mpv), one behaviour a row. */
const READS: readonly [string, string, Cue[]][] = [
  ['no spaces around the arrow', '1\n00:00:04,000-->00:00:06,000\nX\n', [cue(4000, 6000, 'X')]],
  ['two spaces around the arrow', '1\n00:00:04,000  -->  00:00:06,000\nX\n', [cue(4000, 6000, 'X')]],
  ['a tab before the arrow', '1\n00:00:04,000\t--> 00:00:06,000\nX\n', [cue(4000, 6000, 'X')]],
  ['a dot before the milliseconds', '1\n00:00:04.000 --> 00:00:06.000\nX\n', [cue(4000, 6000, 'X')]],
  ['one-digit hours', '1\n0:00:04,000 --> 0:00:06,000\nX\n', [cue(4000, 6000, 'X')]],
  [
    'a cue across 24 hours (no wrapping)',
    '1\n23:59:58,000 --> 24:00:02,500\nX\n',
    [cue(86_398_000, 86_402_500, 'X')],
  ],
  ['hours past 99', '1\n100:00:00,000 --> 123:00:01,000\nX\n', [cue(360_000_000, 442_801_000, 'X')]],
  ['no cue number', '00:00:01,000 --> 00:00:02,000\nX\n', [cue(1000, 2000, 'X')]],
  [
    'coordinates after the timings',
    '1\n00:00:01,000 --> 00:00:02,000 X1:100 X2:200 Y1:10 Y2:20\nX\n',
    [cue(1000, 2000, 'X')],
  ],
  [
    '{\\an8} as a position, not text',
    '1\n00:00:01,000 --> 00:00:02,000\n{\\an8}Top line\n',
    [cue(1000, 2000, 'Top line', { align: 8 })],
  ],
  [
    'legacy {\\a6} as top centre',
    '1\n00:00:01,000 --> 00:00:02,000\n{\\a6}Top\n',
    [cue(1000, 2000, 'Top', { align: 8 })],
  ],
  [
    'other override blocks dropped',
    '1\n00:00:01,000 --> 00:00:02,000\n{\\pos(10,10)\\c&H00FF00&}X\n',
    [cue(1000, 2000, 'X')],
  ],
  ['a < b > c kept as text', '1\n00:00:01,000 --> 00:00:02,000\na < b > c\n', [cue(1000, 2000, 'a < b > c')]],
  [
    'italics kept, font tags dropped',
    '1\n00:00:01,000 --> 00:00:02,000\n<I>it</I> <font color="#ff0000">red</font>\n',
    [cue(1000, 2000, '<i>it</i> red')],
  ],
  [
    'an unclosed italic closed',
    '1\n00:00:01,000 --> 00:00:02,000\n<i>open\n',
    [cue(1000, 2000, '<i>open</i>')],
  ],
  [
    'two cues, two lines each',
    '1\n00:00:01,000 --> 00:00:02,000\na\nb\n\n2\n00:00:03,000 --> 00:00:04,000\nc\nd\n',
    [cue(1000, 2000, 'a\nb'), cue(3000, 4000, 'c\nd')],
  ],
  [
    'cues without blank lines between them',
    '1\n00:00:01,000 --> 00:00:02,000\na\n2\n00:00:03,000 --> 00:00:04,000\nb\n',
    [cue(1000, 2000, 'a'), cue(3000, 4000, 'b')],
  ],
  ['a number as the text of a cue', '1\n00:00:01,000 --> 00:00:02,000\n1999\n', [cue(1000, 2000, '1999')]],
];

describe('parseSrt', () => {
  it('covers every behaviour in the table', () => expect(READS).toHaveLength(18));

  it.each(READS)('reads %s', (_name, text, cues) => {
    const parsed = parseSrt(text);
    expect(parsed.cues).toEqual(cues);
    expect(parsed.warnings).toEqual([]);
  });

  it('skips junk after the last cue and reports it', () => {
    const parsed = parseSrt('1\n00:00:01,000 --> 00:00:02,000\nHi\n\n\nend of file, ripped by X\n');
    expect(parsed.cues).toEqual([cue(1000, 2000, 'Hi')]);
    expect(parsed.warnings).toEqual(['skipped 1 line(s) that are not part of a cue, from line 6']);
  });

  it('skips a cue whose timing line is broken, keeps the rest, and reports it', () => {
    const parsed = parseSrt('1\n00:00:01,000 --> soon\nlost\n\n2\n00:00:03,000 --> 00:00:04,000\nkept\n');
    expect(parsed.cues).toEqual([cue(3000, 4000, 'kept')]);
    expect(parsed.warnings).toEqual([
      'line 2: the timing line does not parse (expected HH:MM:SS,mmm --> HH:MM:SS,mmm)',
    ]);
  });
});

describe('renderSrt', () => {
  it('writes hours past 24 and 99 as they are (never wrapping)', () => {
    expect(renderSrt([cue(86_398_000, 86_402_500, 'X'), cue(360_000_000, 360_001_000, 'Y')])).toBe(
      '1\n23:59:58,000 --> 24:00:02,500\nX\n\n2\n100:00:00,000 --> 100:00:01,000\nY\n',
    );
  });

  it('writes no override tag for a position (plain SRT cannot express one)', () => {
    expect(renderSrt([cue(0, 1000, 'Top', { align: 8 })])).toBe('1\n00:00:00,000 --> 00:00:01,000\nTop\n');
  });
});
