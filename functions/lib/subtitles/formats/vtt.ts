import { balanceTags, type Cue, type Numpad, type ParsedSubtitle } from './cue.ts';
import { vttTime } from './timecode.ts';

/**
 * A WebVTT timestamp as the WebVTT parser collects it (W3C WebVTT §6.1 "collect a WebVTT timestamp"):
 * `[hours:]mm:ss.ttt`, hours any number of digits (more than two digits or a value over 59 in the first
 * place means hours), minutes and seconds two digits up to 59, three digits of milliseconds.
 */
function collectTimestamp(input: string, at: number): { ms: number; next: number } | undefined {
  const m = /^(\d+):(\d+)(?::(\d+))?\.(\d+)/.exec(input.slice(at));
  if (!m) return undefined;
  const [all, a = '', b = '', c, frac = ''] = m;
  let h = 0;
  let min: number;
  let sec: string;
  if (c !== undefined) {
    h = Number(a);
    min = Number(b);
    sec = c;
    if (b.length !== 2) return undefined;
  } else {
    if (a.length !== 2 || Number(a) > 59) return undefined; // "most significant units" would be hours
    min = Number(a);
    sec = b;
  }
  if (sec.length !== 2 || frac.length !== 3 || min > 59 || Number(sec) > 59) return undefined;
  return { ms: ((h * 60 + min) * 60 + Number(sec)) * 1000 + Number(frac), next: at + all.length };
}

const SETTING_RULES: Record<string, RegExp> = {
  vertical: /^(rl|lr)$/,
  line: /^(-?\d+(\.\d+)?|\d+(\.\d+)?%)(,(start|center|end))?$/,
  position: /^\d+(\.\d+)?%(,(line-left|center|line-right))?$/,
  size: /^\d+(\.\d+)?%$/,
  align: /^(start|center|end|left|right)$/,
  region: /^\S+$/,
};

/** Where cue settings put a cue, as a numpad digit (top/middle from `line`, left/right from `align`). */
function alignOf(settings: ReadonlyMap<string, string>): Numpad | undefined {
  const line = settings.get('line')?.split(',')[0];
  let row = 0; // bottom
  if (line !== undefined) {
    if (line.endsWith('%')) {
      const p = Number(line.slice(0, -1));
      row = p < 34 ? 2 : p <= 66 ? 1 : 0;
    } else if (Number(line) >= 0) row = 2; // a non-negative line number counts from the top
  }
  const align = settings.get('align');
  const column = align === 'start' || align === 'left' ? 1 : align === 'end' || align === 'right' ? 3 : 2;
  const n = (row * 3 + column) as Numpad;
  return n === 2 ? undefined : n;
}

/** Parse a cue timing line: timings and settings (invalid settings ignored, as the spec says), or undefined. */
function parseTimingLine(line: string) {
  let at = 0;
  const skip = () => {
    while (at < line.length && /[ \t\f]/.test(line[at] ?? '')) at++;
  };
  skip();
  const start = collectTimestamp(line, at);
  if (!start) return undefined;
  at = start.next;
  skip();
  if (line.slice(at, at + 3) !== '-->') return undefined;
  at += 3;
  skip();
  const end = collectTimestamp(line, at);
  if (!end) return undefined;
  const settings = new Map<string, string>();
  for (const token of line.slice(end.next).split(/[ \t\f]+/)) {
    const colon = token.indexOf(':');
    if (colon <= 0) continue;
    const name = token.slice(0, colon);
    const value = token.slice(colon + 1);
    if (SETTING_RULES[name]?.test(value)) settings.set(name, value);
  }
  return { start: start.ms, end: end.ms, settings };
}

const ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  nbsp: '\u00a0',
  lrm: '\u200e',
  rlm: '\u200f',
  quot: '"',
  apos: "'",
};

/** Decode the character references of cue text (named ones WebVTT authors use, and numeric ones). */
export function unescapeVtt(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (ref, name: string) => {
    if (name.startsWith('#')) {
      const code =
        name[1] === 'x' || name[1] === 'X' ? Number.parseInt(name.slice(2), 16) : Number(name.slice(1));
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ref;
    }
    return ENTITIES[name.toLowerCase()] ?? ref;
  });
}

/**
 * WebVTT cue text to the common text: `<i>`, `<b>`, `<u>` kept (their classes dropped); other tags
 * (`<c.x>`, `<v Name>`, `<lang>`, `<ruby>`, timestamps) dropped keeping their text; references decoded.
 */
export function vttText(raw: string): string {
  const out = raw.replace(/<([^>]*)>?/g, (_tag, inner: string) => {
    const m = /^(\/?)([ibu])(?:[.\s][\s\S]*)?$/i.exec(inner);
    return m ? `<${m[1]}${(m[2] ?? '').toLowerCase()}>` : '';
  });
  // Decode references only outside the kept tags, so `&lt;i&gt;` stays text.
  return balanceTags(
    out
      .split(/(<\/?[ibu]>)/)
      .map((part) => (/^<\/?[ibu]>$/.test(part) ? part : unescapeVtt(part)))
      .join('')
      .trim(),
  );
}

/** Common text as WebVTT cue text: `&`, `<` and `>` escaped except in the formatting tags. */
export function escapeVtt(text: string): string {
  return text
    .split(/(<\/?[ibu]>)/)
    .map((part, i) =>
      i % 2 === 1 ? part : part.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
    )
    .join('');
}

const isHeader = (line: string) => /^WEBVTT(?:[ \t]|$)/.test(line);

/**
 * Parse WebVTT with the W3C WebVTT parser algorithm (§6.1): the `WEBVTT` line and its header block;
 * then blocks, each ended by a blank line or by a second line with `-->`. A block whose first or second
 * line is a cue timing line is a cue (the line before it, if any, its identifier); `STYLE` and `REGION`
 * blocks before the first cue, `NOTE` comments and other blocks are skipped. A cue whose timings do not
 * parse is dropped and reported.
 */
export function parseVtt(text: string): ParsedSubtitle {
  const lines = text.split('\n');
  const cues: Cue[] = [];
  const warnings: string[] = [];
  if (!isHeader(lines[0] ?? '')) return { cues, warnings: ['the file does not start with WEBVTT'] };
  let i = 1;
  // The header block (lines right after WEBVTT) is never a cue; a line with "-->" ends it and starts a block.
  while (i < lines.length && (lines[i] ?? '') !== '' && !(lines[i] ?? '').includes('-->')) i++;
  while (i < lines.length) {
    while (i < lines.length && (lines[i] ?? '') === '') i++;
    if (i >= lines.length) break;
    const blockStart = i;
    let lineCount = 0;
    let buffer: string[] = [];
    let cue: { start: number; end: number; settings: Map<string, string> } | undefined;
    let seenArrow = false;
    let badTiming = false;
    while (i < lines.length) {
      const line = lines[i] ?? '';
      if (line === '') break;
      lineCount++;
      if (line.includes('-->')) {
        if (lineCount === 1 || (lineCount === 2 && !seenArrow)) {
          seenArrow = true;
          cue = parseTimingLine(line);
          if (!cue) badTiming = true;
          buffer = []; // the line before the timings, if any, was the cue identifier
          i++;
          continue;
        }
        break; // a second timing line starts the next block
      }
      buffer.push(line);
      i++;
    }
    if (cue) {
      const settings = [...cue.settings].map(([k, v]) => `${k}:${v}`).join(' ');
      const align = alignOf(cue.settings);
      cues.push({
        start: cue.start,
        end: cue.end,
        text: vttText(buffer.join('\n')),
        ...(align ? { align } : {}),
        ...(settings ? { settings } : {}),
      });
    } else if (badTiming)
      warnings.push(`skipped the cue at line ${blockStart + 1}: its timings do not parse`);
    else if (!/^(NOTE|STYLE|REGION)(?:[ \t]|$)/.test(lines[blockStart] ?? ''))
      warnings.push(`skipped a block that is not a cue at line ${blockStart + 1}`);
  }
  return { cues, warnings };
}

/**
 * WebVTT settings expressing a numpad position (top: `line:0`) or an anchor point (WebVTT §3.3 cue
 * settings: `position:X%,line-left|center|line-right` and `line:Y%,start|center|end` put the box's
 * matching edge at the point, as ASS `\an` does for `\pos`; `align` keeps the text's alignment).
 */
function settingsOf(align: Numpad | undefined, pos?: { x: number; y: number }): string {
  if (pos) {
    const n = align ?? 2;
    const row = Math.floor((n - 1) / 3); // 0 bottom, 1 middle, 2 top
    const column = (n - 1) % 3; // 0 left, 1 centre, 2 right
    return [
      `position:${pos.x}%,${['line-left', 'center', 'line-right'][column]}`,
      `line:${pos.y}%,${['end', 'center', 'start'][row]}`,
      `align:${['left', 'center', 'right'][column]}`,
    ].join(' ');
  }
  if (align === undefined || align === 2) return '';
  const row = Math.floor((align - 1) / 3);
  const column = (align - 1) % 3;
  return [
    row === 2 ? 'line:0' : row === 1 ? 'line:50%,center' : '',
    column === 0 ? 'align:left' : column === 2 ? 'align:right' : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** Cues as WebVTT: text escaped, settings kept from a WebVTT source or derived from the position. */
export function renderVtt(cues: readonly Cue[]): string {
  const body = cues.map((c) => {
    const settings = c.settings ?? settingsOf(c.align, c.pos);
    return `${vttTime(c.start)} --> ${vttTime(c.end)}${settings ? ` ${settings}` : ''}\n${escapeVtt(c.text)}\n`;
  });
  return `WEBVTT\n\n${body.join('\n')}`;
}
