import { Unprocessable } from '../../errors.ts';
import { parseAss, renderAss, retimeAss, ssaToAss } from './ass.ts';
import type { Cue, ParsedSubtitle } from './cue.ts';
import type { SubtitleFormat, TargetFormat } from './detect.ts';
import { parseSrt, renderSrt } from './srt.ts';
import { type Retiming, retime } from './timecode.ts';
import { parseVtt, renderVtt } from './vtt.ts';

export type { Cue } from './cue.ts';

const unusable = (message: string) =>
  new Unprocessable(`the subtitle file cannot be used: ${message}`, {
    issues: [{ field: '/body/file', message }],
  });

/**
 * Read normalised subtitle text of a known format: its cues and the warnings of what was skipped (junk
 * blocks, a cue whose timings do not parse). No usable cue, or a cue that ends before it starts →
 * Unprocessable (422) naming `/body/file`; without a cue the detail names the first line skipped
 * (`line 2: the timing line does not parse …`, `skipped the Dialogue line 9: …`).
 */
export function readSubtitle(text: string, format: SubtitleFormat): ParsedSubtitle {
  if ((format === 'ass' || format === 'ssa') && !/^\s*\[Events\]/im.test(text))
    throw unusable('an ASS/SSA file needs an [Events] section');
  const parsed = format === 'srt' ? parseSrt(text) : format === 'vtt' ? parseVtt(text) : parseAss(text);
  if (parsed.cues.length === 0) {
    const why = parsed.warnings.find((w) => /\bline \d+/.test(w));
    throw unusable(why === undefined ? 'the file has no cues' : `the file has no usable cue: ${why}`);
  }
  const bad = parsed.cues.findIndex((c) => !(c.start >= 0 && c.end >= c.start));
  if (bad >= 0) throw unusable(`cue ${bad + 1} ends before it starts`);
  return parsed;
}

/** The cues of normalised subtitle text (see readSubtitle). */
export const parseCues = (text: string, format: SubtitleFormat): Cue[] => readSubtitle(text, format).cues;

/** Render cues as SRT, WebVTT or ASS text (UTF-8, `\n` line endings). */
export function renderCues(cues: readonly Cue[], format: TargetFormat): string {
  return format === 'srt' ? renderSrt(cues) : format === 'vtt' ? renderVtt(cues) : renderAss(cues);
}

/** How a download is shaped besides its format. */
export interface ConvertOptions {
  /** Move and stretch every time (timeshift, frame-rate conversion). */
  readonly timing?: Retiming;
}

const isIdentity = (t: Retiming | undefined) => !t || (t.shiftMs === 0 && t.ratio === 1);

/** Cues moved by a retiming; cues that end up ending at 0 (shifted before the start) are dropped. */
export function retimeCues(cues: readonly Cue[], timing: Retiming): Cue[] {
  return cues
    .map((c) => ({ ...c, start: retime(c.start, timing), end: retime(c.end, timing) }))
    .filter((c) => c.end > 0);
}

/**
 * Convert normalised subtitle text between formats, optionally retimed. Same format → unchanged, or for
 * ASS/SSA only its times rewritten (typesetting kept); SSA → ASS is a real v4.00+ script (ssaToAss);
 * anything else goes through cues (timing, line breaks, italics/bold/underline, position).
 */
export function convertSubtitle(
  text: string,
  from: SubtitleFormat,
  to: TargetFormat | 'ssa',
  options: ConvertOptions = {},
): string {
  const { timing } = options;
  if (from === to || (from === 'ssa' && to === 'ass')) {
    const script = from === 'ssa' && to === 'ass' ? ssaToAss(text) : text;
    if (isIdentity(timing)) return script;
    if (to === 'ass' || to === 'ssa') return retimeAss(script, timing as Retiming);
  }
  if (to === 'ssa') throw unusable('only an SSA file can be served as SSA');
  const cues = readSubtitle(text, from).cues;
  return renderCues(isIdentity(timing) ? cues : retimeCues(cues, timing as Retiming), to);
}
