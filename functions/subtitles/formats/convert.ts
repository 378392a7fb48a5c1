import { parse as parseAss, stringify as stringifyAss } from 'ass-compiler';
import { type NodeList, parseSync, stringifySync } from 'subtitle';
import { Unprocessable } from '../../lib/errors.ts';
import type { SubtitleFormat, TargetFormat } from './detect.ts';

/** One timed line of text, the common ground of every format (times in milliseconds). */
export interface Cue {
  readonly start: number;
  readonly end: number;
  /** Plain lines separated by `\n`; `<i>`, `<b>`, `<u>` kept where the source had them. */
  readonly text: string;
}

const unusable = (message: string) =>
  new Unprocessable(`the subtitle file cannot be used: ${message}`, {
    issues: [{ field: '/body/file', message }],
  });

function assCues(text: string): Cue[] {
  if (!/^\[Events\]/im.test(text)) throw unusable('an ASS/SSA file needs an [Events] section');
  const parsed = parseAss(text);
  return parsed.events.dialogue
    .map((d) => ({
      start: Math.round(d.Start * 1000),
      end: Math.round(d.End * 1000),
      text: d.Text.parsed
        .filter((part) => part.drawing.length === 0)
        .map((part) => part.text)
        .join('')
        .replace(/\\[Nn]/g, '\n')
        .replace(/\\h/g, ' ')
        .trim(),
    }))
    .filter((cue) => cue.text !== '');
}

const KEPT_TAG = /^<\/?[ibu]>$/i;
function cleanMarkup(text: string): string {
  // Keep <i>/<b>/<u> (SRT and VTT both have them); drop every other tag (<c.x>, <v Name>, <font …>).
  return text.replace(/<[^>]*>/g, (tag) => (KEPT_TAG.test(tag) ? tag : ''));
}

function textCues(text: string): Cue[] {
  let nodes: NodeList;
  try {
    nodes = parseSync(text);
  } catch (error) {
    throw unusable(error instanceof Error ? error.message : 'malformed cue');
  }
  const cues: Cue[] = [];
  for (const node of nodes) {
    if (node.type !== 'cue') continue;
    cues.push({ start: node.data.start, end: node.data.end, text: cleanMarkup(node.data.text).trim() });
  }
  return cues;
}

/**
 * Parse normalised subtitle text of a known format into cues. A file without a single usable cue, with a
 * cue that ends before it starts, or that does not parse → Unprocessable (422) naming `/body/file`.
 */
export function parseCues(text: string, format: SubtitleFormat): Cue[] {
  const cues = format === 'ass' || format === 'ssa' ? assCues(text) : textCues(text);
  if (cues.length === 0) throw unusable('the file has no cues');
  const bad = cues.findIndex((c) => !(c.start >= 0 && c.end >= c.start));
  if (bad >= 0) throw unusable(`cue ${bad + 1} ends before it starts`);
  return cues;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
function assTime(ms: number): string {
  const cs = Math.round(ms / 10);
  return `${Math.floor(cs / 360_000)}:${pad(Math.floor(cs / 6000) % 60)}:${pad(Math.floor(cs / 100) % 60)}.${pad(cs % 100)}`;
}

const ASS_HEADER = `[Script Info]
; Converted by Isekai from SRT/WebVTT
ScriptType: v4.00+
PlayResX: 1920
PlayResY: 1080
WrapStyle: 0
ScaledBorderAndShadow: yes

[V4+ Styles]
Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
Style: Default,Arial,64,&H00FFFFFF,&H000000FF,&H00000000,&H80000000,0,0,0,0,100,100,0,0,1,3,1,2,60,60,50,1

[Events]
Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text
`;

function assText(text: string): string {
  return text
    .replace(
      /<(\/?)([ibu])>/gi,
      (_tag, close: string, name: string) => `{\\${name.toLowerCase()}${close ? 0 : 1}}`,
    )
    .replace(/\n/g, '\\N');
}

/** Render cues as SRT, WebVTT or ASS text (UTF-8, `\n` line endings). */
export function renderCues(cues: readonly Cue[], format: TargetFormat): string {
  if (format === 'ass') {
    const lines = cues.map(
      (c) => `Dialogue: 0,${assTime(c.start)},${assTime(c.end)},Default,,0,0,0,,${assText(c.text)}`,
    );
    return `${ASS_HEADER}${lines.join('\n')}\n`;
  }
  const nodes: NodeList = cues.map((data) => ({ type: 'cue', data: { ...data } }));
  return stringifySync(nodes, { format: format === 'srt' ? 'SRT' : 'WebVTT' });
}

/**
 * Convert normalised subtitle text between formats. Same format → unchanged (ASS typesetting is kept);
 * SSA → ASS keeps the styles (ass-compiler rewrites it as v4.00+); anything else goes through cues,
 * which keeps timing, line breaks and italics/bold/underline but not positioning or styles.
 */
export function convertSubtitle(text: string, from: SubtitleFormat, to: TargetFormat): string {
  if (from === to) return text;
  if (from === 'ssa' && to === 'ass') return stringifyAss(parseAss(text));
  return renderCues(parseCues(text, from), to);
}
