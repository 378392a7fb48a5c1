import { describe, expect, it } from 'vitest';
import { parseAss, retimeAss, ssaToAss } from './ass.ts';
import type { Cue } from './cue.ts';

const cue = (start: number, end: number, text: string, extra: Partial<Cue> = {}): Cue => ({
  start,
  end,
  text,
  ...extra,
});
const V4PLUS_STYLES =
  '[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding\nStyle: Default,Arial,64,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,1,2,60,60,50,1\nStyle: Sign,Arial,64,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,-1,0,0,100,100,0,0,1,3,1,8,60,60,50,1\n';
const ass = (events: string, info = '') =>
  `[Script Info]\nScriptType: v4.00+\n${info}\n${V4PLUS_STYLES}\n[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n${events}\n`;
const line = (text: string, style = 'Default', start = '0:00:01.00', end = '0:00:02.00') =>
  `Dialogue: 0,${start},${end},${style},,0,0,0,,${text}`;

/** ASS and SSA as libass renders them, one behaviour a row. */
const READS: readonly [string, string, Cue[]][] = [
  [
    '[Events] without a Format line (the standard v4.00+ order)',
    '[Script Info]\nScriptType: v4.00+\n\n[Events]\nDialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,Hello, world\nDialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,Two\n',
    [cue(1000, 2000, 'Hello, world'), cue(3000, 4000, 'Two')],
  ],
  [
    'an SSA without a Format line (Marked first)',
    '[Script Info]\nScriptType: v4.00\n\n[Events]\nDialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,Hi\n',
    [cue(1000, 2000, 'Hi')],
  ],
  ['commas in the text', ass(line('one, two, three')), [cue(1000, 2000, 'one, two, three')]],
  ['\\N as a line break', ass(line('a\\Nb')), [cue(1000, 2000, 'a\nb')]],
  ['\\n as a space under WrapStyle 0', ass(line('a\\nb')), [cue(1000, 2000, 'a b')]],
  ['\\n as a line break under WrapStyle 2', ass(line('a\\nb'), 'WrapStyle: 2'), [cue(1000, 2000, 'a\nb')]],
  ['\\h as a hard space', ass(line('a\\hb')), [cue(1000, 2000, 'a\u00a0b')]],
  ['{\\an8} as a position', ass(line('{\\an8}Top')), [cue(1000, 2000, 'Top', { align: 8 })]],
  [
    'a style’s alignment and italics',
    ass(line('Sign text', 'Sign')),
    [cue(1000, 2000, '<i>Sign text</i>', { align: 8 })],
  ],
  [
    '{\\i1}…{\\i0} and {\\b1} as formatting',
    ass(line('{\\i1}a{\\b1}b{\\i0}c')),
    [cue(1000, 2000, '<i>a<b>b</b></i><b>c</b>')],
  ],
  ['a drawing (\\p1) is no text', ass(line('{\\p1}m 0 0 l 100 0 100 100{\\p0}')), []],
  [
    'Comment lines ignored',
    ass(`Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,note\n${line('said')}`),
    [cue(1000, 2000, 'said')],
  ],
  [
    'centiseconds as libass reads them (".5" is 50 ms)',
    ass(line('x', 'Default', '0:00:01.5', '0:00:02.50')),
    [cue(1050, 2500, 'x')],
  ],
  [
    'hours past 99',
    ass(line('x', 'Default', '100:00:00.00', '100:00:01.00')),
    [cue(360_000_000, 360_001_000, 'x')],
  ],
  [
    '{\\pos(x,y)} as an anchor point, in percent of PlayResX×PlayResY',
    ass(line('{\\an9\\pos(1440,108)}Sign'), 'PlayResX: 1920\nPlayResY: 1080'),
    [cue(1000, 2000, 'Sign', { align: 9, pos: { x: 75, y: 10 } })],
  ],
  [
    'without PlayRes, libass’s 384×288; only the first \\pos counts; clamped to the frame',
    ass(
      line(
        '{\\pos(192,144)}a{\\pos(0,0)}b\nDialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\pos(500,-10)}c',
      ),
    ),
    [
      cue(1000, 2000, 'ab', { align: 2, pos: { x: 50, y: 50 } }),
      cue(3000, 4000, 'c', { align: 2, pos: { x: 100, y: 0 } }),
    ],
  ],
  [
    'only PlayResX: PlayResY is ¾ of it (1280 → 1024)',
    ass(line('{\\pos(640,512)}mid'), 'PlayResX: 1280'),
    [cue(1000, 2000, 'mid', { align: 2, pos: { x: 50, y: 50 } })],
  ],
  [
    'events out of order sorted by start',
    ass(`${line('second', 'Default', '0:00:03.00', '0:00:04.00')}\n${line('first')}`),
    [cue(1000, 2000, 'first'), cue(3000, 4000, 'second')],
  ],
];

describe('parseAss', () => {
  it('covers every behaviour in the table', () => expect(READS).toHaveLength(18));

  it.each(READS)('reads %s', (_name, text, cues) => {
    expect(parseAss(text).cues).toEqual(cues);
  });
});

const SSA = `[Script Info]
Title: test
ScriptType: v4.00

[V4 Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding
Style: Default,Arial,20,16777215,65535,65535,-2147483640,-1,0,1,3,0,6,30,30,30,0,0

[Events]
Format: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
Dialogue: Marked=0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,{\\a9}Hi, there`;

describe('ssaToAss', () => {
  const converted = ssaToAss(SSA);

  it('writes a v4.00+ script: ScriptType, V4+ style fields, Layer for Marked', () => {
    expect(converted).toContain('ScriptType: v4.00+');
    expect(converted).not.toContain('v4.00\n');
    expect(converted).toContain(
      '[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    );
    expect(converted).toContain(
      'Style: Default,Arial,20,&H00FFFFFF,&H0000FFFF,&H0000FFFF,&H80000008,-1,0,0,0,100,100,0,0,1,3,0,8,30,30,30,0',
    );
    expect(converted).toContain(
      'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    );
    expect(converted).toContain(
      'Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0000,0000,0000,,{\\an4}Hi, there',
    );
    expect(converted).not.toContain('Marked');
  });

  const LEGACY: readonly [number, number][] = [
    [1, 1],
    [2, 2],
    [3, 3],
    [5, 7],
    [6, 8],
    [7, 9],
    [9, 4],
    [10, 5],
    [11, 6],
  ];
  it('maps every legacy alignment to numpad', () => expect(LEGACY).toHaveLength(9));
  it.each(LEGACY)('legacy alignment %i → numpad %i (styles and {\\a} tags)', (legacy, numpad) => {
    const script = SSA.replace(',6,30,30,30,0,0', `,${legacy},30,30,30,0,0`).replace(
      '{\\a9}',
      `{\\a${legacy}}`,
    );
    const out = ssaToAss(script);
    expect(out).toContain(`,${numpad},30,30,30,0\n`);
    expect(out).toContain(`{\\an${numpad}}Hi`);
  });

  it('reads the same cues as the SSA it came from', () => {
    expect(parseAss(converted).cues).toEqual(parseAss(SSA).cues);
  });
});

describe('retimeAss', () => {
  it('moves every Dialogue and Comment and keeps the rest of the script', () => {
    const script = ass(
      `Comment: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,note\n${line('{\\pos(10,10)}x, y')}`,
    );
    const moved = retimeAss(script, { shiftMs: 2000, ratio: 1 });
    expect(moved).toContain('Comment: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,note');
    expect(moved).toContain('Dialogue: 0,0:00:03.00,0:00:04.00,Default,,0,0,0,,{\\pos(10,10)}x, y');
    expect(moved.replace(/0:00:0[34]\.00/g, '')).toBe(script.replace(/0:00:0[12]\.00/g, ''));
  });
});
