import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../../errors.ts';
import { convertSubtitle, parseCues, readSubtitle, renderCues, retimeCues } from './convert.ts';
import { detectFormat, sniffFormat } from './detect.ts';
import { fromTwoPoints } from './timecode.ts';

const SRT =
  '1\n00:00:01,000 --> 00:00:02,500\nHello <i>there</i>\nsecond line\n\n2\n00:01:03,250 --> 00:01:05,000\nBye\n';
const VTT =
  'WEBVTT\n\n00:00:01.000 --> 00:00:02.500 align:start\nHello <i>there</i>\nsecond line\n\n00:01:03.250 --> 00:01:05.000\n<v Narrator>Bye</v>\n';
const ASS = `[Script Info]
ScriptType: v4.00+
PlayResX: 1920
PlayResY: 1080

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,64,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,1,2,60,60,50,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: 0,0:00:01.00,0:00:02.50,Default,,0,0,0,,{\\an8}Hello {\\i1}there{\\i0}\\Nsecond line
Dialogue: 0,0:01:03.25,0:01:05.00,Default,,0,0,0,,Bye
`;
const SSA = ASS.replace('ScriptType: v4.00+', 'ScriptType: v4.00').replace('[V4+ Styles]', '[V4 Styles]');

const codeOf = (work: () => unknown) => {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as IsekaiError).code;
  }
};

describe('format detection', () => {
  it.each([
    ['SRT', SRT, 'srt'],
    ['WebVTT', VTT, 'vtt'],
    ['ASS', ASS, 'ass'],
    ['SSA', SSA, 'ssa'],
    ['SRT after blank lines', `\n\n${SRT}`, 'srt'],
    ['SRT after a credit line', `Subtitles by Isekai\n\n${SRT}`, 'srt'],
    ['SRT without cue numbers', '00:00:01,000 --> 00:00:02,000\nHi\n', 'srt'],
    ['prose mentioning an arrow', 'see --> there\n', undefined],
    ['prose', 'Once upon a time\nthere was a file', undefined],
    ['JSON', '{"cues": []}', undefined],
  ])('%s → %s', (_name, text, format) => {
    expect(sniffFormat(text)).toBe(format);
  });

  it('refuses an unknown format as unsupported_media_type', () => {
    expect(codeOf(() => detectFormat('just words'))).toBe('unsupported_media_type');
  });
});

describe('parsing', () => {
  it.each([
    ['SRT', SRT, 'srt'],
    ['WebVTT', VTT, 'vtt'],
    ['ASS', ASS, 'ass'],
  ] as const)(
    'reads the cues of %s (times in ms, line breaks, italics; other markup dropped)',
    (_n, text, format) => {
      const cues = parseCues(text, format);
      expect(cues).toHaveLength(2);
      expect(cues[0]).toMatchObject({ start: 1000, end: 2500 });
      expect(cues[0]?.text.replace(/\{\\i[01]\}/g, '')).toMatch(/^Hello (<i>)?there(<\/i>)?\nsecond line$/);
      expect(cues[1]).toEqual({ start: 63_250, end: 65_000, text: 'Bye' });
    },
  );

  it.each([
    ['an SRT with a broken timing line', '1\n00:00:01,000 --> soon\nHello\n', 'srt'],
    ['an ASS without events', '[Script Info]\nScriptType: v4.00+\n', 'ass'],
    [
      'an ASS whose events have no dialogue',
      '[Script Info]\n\n[Events]\nFormat: Layer, Start, End, Style, Text\n',
      'ass',
    ],
    ['a WebVTT header alone', 'WEBVTT\n', 'vtt'],
  ] as const)('refuses %s as unprocessable', (_n, text, format) => {
    expect(codeOf(() => parseCues(text, format))).toBe('unprocessable');
  });
});

describe('conversion', () => {
  it.each([
    ['srt', SRT],
    ['vtt', VTT],
    ['ass', ASS],
  ] as const)('%s → every format → back keeps timing and text', (from, text) => {
    const original = parseCues(text, from);
    for (const to of ['srt', 'vtt', 'ass'] as const) {
      const converted = convertSubtitle(text, from, to);
      expect(sniffFormat(converted)).toBe(to);
      const back = parseCues(converted, to);
      expect(back.map((c) => [c.start, c.end])).toEqual(original.map((c) => [c.start, c.end]));
      const plain = (s: string) => s.replace(/<[^>]+>|\{[^}]*\}/g, '');
      expect(back.map((c) => plain(c.text))).toEqual(original.map((c) => plain(c.text)));
    }
  });

  it('keeps an ASS file byte for byte when ASS is asked for (typesetting intact)', () => {
    expect(convertSubtitle(ASS, 'ass', 'ass')).toBe(ASS);
  });

  it('turns SSA into ASS keeping its styles', () => {
    const ass = convertSubtitle(SSA, 'ssa', 'ass');
    expect(sniffFormat(ass)).toBe('ass');
    expect(ass).toContain('Style: Default,Arial,64');
  });

  it('carries SRT italics into ASS override tags', () => {
    expect(renderCues([{ start: 0, end: 1000, text: '<i>a</i>\nb' }], 'ass')).toContain(',{\\i1}a{\\i0}\\Nb');
  });
});

/** Issue 13's conversion rows: what the product writes must be what players read, and read back. */
const ROWS: readonly [string, string, 'srt' | 'vtt' | 'ass', 'srt' | 'vtt' | 'ass', string][] = [
  [
    'an SRT cue across 24 h as VTT',
    '1\n23:59:58,000 --> 24:00:02,500\nX\n',
    'srt',
    'vtt',
    '23:59:58.000 --> 24:00:02.500\nX\n',
  ],
  [
    'an SRT cue past 99 h as VTT',
    '1\n100:00:00,000 --> 100:00:01,000\nX\n',
    'srt',
    'vtt',
    '100:00:00.000 --> 100:00:01.000\nX\n',
  ],
  [
    'SRT {\\an8} as VTT: line:0, no tag',
    '1\n00:00:01,000 --> 00:00:02,000\n{\\an8}Top line\n',
    'srt',
    'vtt',
    '00:00:01.000 --> 00:00:02.000 line:0\nTop line\n',
  ],
  [
    'VTT line:0 as SRT: no tag',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000 line:0\nTop line\n',
    'vtt',
    'srt',
    '00:00:01,000 --> 00:00:02,000\nTop line\n',
  ],
  [
    'SRT {\\an8} as ASS: the position',
    '1\n00:00:01,000 --> 00:00:02,000\n{\\an8}Top line\n',
    'srt',
    'ass',
    ',{\\an8}Top line\n',
  ],
  [
    'SRT a < b > c as VTT: escaped',
    '1\n00:00:01,000 --> 00:00:02,000\na < b > c\n',
    'srt',
    'vtt',
    '\na &lt; b &gt; c\n',
  ],
  [
    'VTT &lt; &amp; &nbsp; as SRT: unescaped',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na &lt; b &amp;&nbsp;c\n',
    'vtt',
    'srt',
    '\na < b &\u00a0c\n',
  ],
  [
    'VTT &lt; &amp; as ASS: unescaped',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na &lt; b &amp; c\n',
    'vtt',
    'ass',
    ',a < b & c\n',
  ],
  [
    'VTT line:0 as ASS: top',
    'WEBVTT\n\n00:00:01.000 --> 00:00:02.000 line:0\nTop\n',
    'vtt',
    'ass',
    ',{\\an8}Top\n',
  ],
];

describe('issue 13 conversions', () => {
  it('keeps every row', () => expect(ROWS).toHaveLength(9));

  it.each(ROWS)('%s', (_name, text, from, to, expected) => {
    const final = convertSubtitle(text, from, to);
    expect(final).toContain(expected);
    expect(final).not.toMatch(to === 'ass' ? /\{\\an[^8]/ : /\{\\/);
    // What the product writes, it reads back to the same cues.
    expect(parseCues(final, to).map((c) => [c.start, c.end, c.text])).toEqual(
      parseCues(text, from).map((c) => [c.start, c.end, c.text]),
    );
  });
});

describe('retiming', () => {
  const cues = parseCues(SRT, 'srt');

  it.each([
    ['+2 s', { shiftMs: 2000, ratio: 1 }, [3000, 4500, 65_250, 67_000]],
    ['−1.5 s', { shiftMs: -1500, ratio: 1 }, [0, 1000, 61_750, 63_500]],
    ['23.976 → 25 fps', { shiftMs: 0, ratio: 24000 / 1001 / 25 }, [959, 2398, 60_659, 62_338]],
    ['25 → 23.976 fps', { shiftMs: 0, ratio: 25 / (24000 / 1001) }, [1043, 2607, 65_951, 67_776]],
    ['24 → 25 fps', { shiftMs: 0, ratio: 24 / 25 }, [960, 2400, 60_720, 62_400]],
  ])('moves every cue by %s', (_name, timing, times) => {
    expect(retimeCues(cues, timing).flatMap((c) => [c.start, c.end])).toEqual(times);
  });

  it('drops cues shifted entirely before the start', () => {
    expect(retimeCues(cues, { shiftMs: -10_000, ratio: 1 }).map((c) => c.text)).toEqual(['Bye']);
  });

  it.each(['srt', 'vtt', 'ass'] as const)(
    'a shifted, fps-converted %s download reads back to the same cues',
    (from) => {
      const text = { srt: SRT, vtt: VTT, ass: ASS }[from];
      const timing = { shiftMs: 2000, ratio: 24000 / 1001 / 25 };
      for (const to of ['srt', 'vtt', 'ass'] as const) {
        const out = convertSubtitle(text, from, to, { timing });
        const expected = retimeCues(parseCues(text, from), timing);
        // ASS keeps centiseconds: compare to the nearest 10 ms.
        const round = (ms: number) => (to === 'ass' || from === 'ass' ? Math.round(ms / 10) * 10 : ms);
        expect(readSubtitle(out, to).cues.map((c) => [round(c.start), round(c.end)])).toEqual(
          expected.map((c) => [round(c.start), round(c.end)]),
        );
      }
    },
  );
});

describe('sync by two reference points', () => {
  it('puts both subtitle times exactly on their video times', () => {
    const timing = fromTwoPoints([1000, 3000], [63_250, 67_500]);
    expect(timing).toBeDefined();
    const moved = retimeCues(parseCues(SRT, 'srt'), timing ?? { shiftMs: 0, ratio: 1 });
    expect(moved.map((c) => c.start)).toEqual([3000, 67_500]);
  });

  it.each([
    ['the same subtitle time twice', [1000, 2000], [1000, 3000]],
    ['video times in the reverse order', [1000, 5000], [2000, 4000]],
  ] as const)('defines no retiming from %s', (_name, a, b) => {
    expect(fromTwoPoints(a, b)).toBeUndefined();
  });
});

describe('an ASS anchor point (\\pos) across formats', () => {
  const SIGN = ASS.replace('{\\an8}Hello', '{\\an9\\pos(1800,100)}Hello');

  it('becomes WebVTT position and line settings that put the box’s matching corner there', () => {
    const vtt = renderCues(readSubtitle(SIGN, 'ass').cues, 'vtt');
    expect(vtt).toContain(
      '00:00:01.000 --> 00:00:02.500 position:93.75%,line-right line:9.26%,start align:right\n',
    );
    // a cue without one keeps the plain numpad settings (bottom centre: none)
    expect(vtt).toContain('00:01:03.250 --> 00:01:05.000\nBye');
  });

  it('survives ASS → ASS through the common cues, in the 1920×1080 space we write', () => {
    const again = renderCues(readSubtitle(SIGN, 'ass').cues, 'ass');
    expect(again).toContain('{\\an9\\pos(1800,100)}Hello');
    expect(readSubtitle(again, 'ass').cues[0]?.pos).toEqual({ x: 93.75, y: 9.26 });
  });

  it('is dropped by SRT, which has no anchor points (text and times stay)', () => {
    const srt = renderCues(readSubtitle(SIGN, 'ass').cues, 'srt');
    expect(srt).toContain('00:00:01,000 --> 00:00:02,500\nHello <i>there</i>\nsecond line\n');
    expect(srt).not.toMatch(/pos|position/);
  });
});

describe('a recognised format with broken content is unprocessable (422) naming the line, not unsupported (415)', () => {
  it.each([
    ['SRT, a mistyped arrow', '1\n00:00:01,000 -> 00:00:02,000\nHello\n', 'srt', 'line 2: the timing line'],
    [
      'SRT, a time that is none',
      '1\n00:00:01,000 --> 00:00:0x,000\nHello\n',
      'srt',
      'line 2: the timing line',
    ],
    ['WebVTT', 'WEBVTT\n\n00:00:01.000 --> 00:00:0x.000\nHello\n', 'vtt', 'the cue at line 3'],
    [
      'ASS',
      '[Script Info]\nScriptType: v4.00+\n\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:0x.00,0:00:02.00,Default,,0,0,0,,Hello\n',
      'ass',
      'the Dialogue line 6',
    ],
  ])('%s', (_name, text, format, line) => {
    expect(detectFormat(text)).toBe(format);
    let error: IsekaiError | undefined;
    try {
      readSubtitle(text, format as 'srt' | 'vtt' | 'ass');
    } catch (e) {
      error = e as IsekaiError;
    }
    expect(error?.code).toBe('unprocessable');
    expect(error?.message).toContain(line);
    expect(error?.issues.map((i) => i.field)).toEqual(['/body/file']);
  });

  it('text in no subtitle format is still unsupported', () => {
    expect(sniffFormat('1\nnot a time -> at all\n')).toBeUndefined();
    expect(() => detectFormat('just words\n')).toThrow(
      expect.objectContaining({ code: 'unsupported_media_type' }),
    );
  });
});
