import { describe, expect, it } from 'vitest';
import type { Cue } from './cue.ts';
import { escapeVtt, parseVtt, renderVtt, vttText } from './vtt.ts';

const cue = (start: number, end: number, text: string, extra: Partial<Cue> = {}): Cue => ({
  start,
  end,
  text,
  ...extra,
});

/** The W3C WebVTT parser algorithm (§6.1), one behaviour a row. */
const READS: readonly [string, string, Cue[]][] = [
  ['a named cue identifier', 'WEBVTT\n\nintro\n00:00:01.000 --> 00:00:02.000\nHi\n', [cue(1000, 2000, 'Hi')]],
  ['a numeric identifier', 'WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nHi\n', [cue(1000, 2000, 'Hi')]],
  [
    'a header with a title and metadata',
    'WEBVTT - Episode 5\nKind: captions\nLanguage: en\n\n00:01.000 --> 00:02.000\nHi\n',
    [cue(1000, 2000, 'Hi')],
  ],
  [
    'STYLE, REGION and NOTE blocks skipped',
    'WEBVTT\n\nSTYLE\n::cue { color: yellow }\n\nREGION\nid:fred width:40%\n\nNOTE written by hand\nover two lines\n\n00:00:01.000 --> 00:00:02.000\nHi\n\nNOTE between cues\n\n00:00:03.000 --> 00:00:04.000\nBye\n',
    [cue(1000, 2000, 'Hi'), cue(3000, 4000, 'Bye')],
  ],
  [
    'cue settings kept (invalid ones dropped), line:0 as top',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000 line:0 align:start size:50% vertical:up bogus:1\nTop\n',
    [cue(1000, 2000, 'Top', { align: 7, settings: 'line:0 align:start size:50%' })],
  ],
  ['minutes and seconds only', 'WEBVTT\n\n01:02.500 --> 01:03.000\nX\n', [cue(62_500, 63_000, 'X')]],
  ['hours past 99', 'WEBVTT\n\n100:00:00.000 --> 100:00:01.000\nX\n', [cue(360_000_000, 360_001_000, 'X')]],
  ['no spaces around the arrow', 'WEBVTT\n\n00:00:01.000-->00:00:02.000\nX\n', [cue(1000, 2000, 'X')]],
  [
    'character references decoded',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na &lt; b &gt; c &amp; d&nbsp;e &#x41;\n',
    [cue(1000, 2000, 'a < b > c & d\u00a0e A')],
  ],
  [
    'voice, class and timestamp tags dropped, italics kept',
    'WEBVTT\n\n00:00:01.000 --> 00:00:05.000\n<v Bob>Hi <i.loud>you</i> <00:00:02.000><c.yellow>there</c></v>\n',
    [cue(1000, 5000, 'Hi <i>you</i> there')],
  ],
  [
    'a second timing line ends a cue (starts the next)',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nA\n00:00:03.000 --> 00:00:04.000\nB\n',
    [cue(1000, 2000, 'A'), cue(3000, 4000, 'B')],
  ],
  ['a cue right after the WEBVTT line', 'WEBVTT\n00:00:01.000 --> 00:00:02.000\nX\n', [cue(1000, 2000, 'X')]],
  ['hours of one digit', 'WEBVTT\n\n1:00:00.000 --> 1:00:01.000\nX\n', [cue(3_600_000, 3_601_000, 'X')]],
];

describe('parseVtt', () => {
  it('covers every behaviour in the table', () => expect(READS).toHaveLength(13));

  it.each(READS)('reads %s', (_name, text, cues) => {
    const parsed = parseVtt(text);
    expect(parsed.cues).toEqual(cues);
    expect(parsed.warnings).toEqual([]);
  });

  it.each([
    ['minutes past 59', '00:60:00.000 --> 00:61:00.000'],
    ['two-digit milliseconds', '00:00:01.00 --> 00:00:02.00'],
    ['a comma before the milliseconds', '00:00:01,000 --> 00:00:02,000'],
  ])('drops a cue with %s and reports it', (_name, timing) => {
    const parsed = parseVtt(`WEBVTT\n\n${timing}\nlost\n\n00:00:03.000 --> 00:00:04.000\nkept\n`);
    expect(parsed.cues).toEqual([cue(3000, 4000, 'kept')]);
    expect(parsed.warnings).toHaveLength(1);
  });
});

describe('WebVTT text', () => {
  it('escapes <, > and & but not the formatting tags', () => {
    expect(escapeVtt('<i>a < b</i> > c & d')).toBe('<i>a &lt; b</i> &gt; c &amp; d');
  });

  it('reads back what it escaped', () => {
    const text = 'a < b > c & d --> e';
    expect(vttText(escapeVtt(text))).toBe(text);
  });

  it('writes a top position as line:0 and keeps a WebVTT source’s own settings', () => {
    expect(
      renderVtt([
        cue(0, 1000, 'Top', { align: 8 }),
        cue(1000, 2000, 'Own', { align: 7, settings: 'line:0 align:start' }),
      ]),
    ).toBe(
      'WEBVTT\n\n00:00:00.000 --> 00:00:01.000 line:0\nTop\n\n00:00:01.000 --> 00:00:02.000 line:0 align:start\nOwn\n',
    );
  });

  it('writes hours past 24 without wrapping', () => {
    expect(renderVtt([cue(86_398_000, 86_402_500, 'X')])).toContain('23:59:58.000 --> 24:00:02.500');
  });
});
