import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../../lib/errors.ts';
import { convertSubtitle, parseCues, renderCues } from './convert.ts';
import { detectFormat, sniffFormat } from './detect.ts';

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
