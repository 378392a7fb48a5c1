import { balanceTags, type Cue, isNumpad, legacyToNumpad, type Numpad, type ParsedSubtitle } from './cue.ts';
import { srtTime, toMs } from './timecode.ts';

/**
 * A SubRip timing line as players read it (ffmpeg's `%d:%d:%d,%d --> %d:%d:%d,%d`): any number of hour
 * digits, `,` or `.` before the milliseconds, any spacing around the arrow (none too), and whatever
 * follows (`X1:… Y2:…` coordinates) ignored.
 */
const TIMING =
  /^\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})\s*-->\s*(\d+):(\d{1,2}):(\d{1,2})[,.](\d{1,3})(?:\s.*)?$/;

/** Whether a line is an SRT timing line (the cheap `-->` test first: most lines are text). */
export const isSrtTiming = (line: string): boolean => line.includes('-->') && TIMING.test(line);

/**
 * Whether a line is meant as a timing line, parsing or not: an arrow (`-->`, or a mistyped `->`) after
 * something time-like (`00:00:01,000 -> 00:00:02`, `0:00:01;5 --> …`). Text rarely has both.
 */
export const looksLikeSrtTiming = (line: string): boolean => line.includes('->') && /^\s*\d+:\d/.test(line);

/** A cue number alone on its line. */
export const isCueNumber = (line: string): boolean => /^\s*\d+\s*$/.test(line);

/** The warning of a timing line that does not parse, with its line number (1-based). */
const badTiming = (index: number) =>
  `line ${index + 1}: the timing line does not parse (expected HH:MM:SS,mmm --> HH:MM:SS,mmm)`;

const SRT_TAG = /<\/?(i|b|u|s|font)(?:\s[^<>]*)?>/gi;

/**
 * SRT cue text to the common text: `<i>`, `<b>`, `<u>` kept (lower case); `<font …>` and `<s>` dropped;
 * ASS override blocks (`{\an8}`, which players honour in SRT) dropped, a position taken from them; every
 * other `<`, `>` and `&` is literal text.
 */
export function srtText(raw: string): { text: string; align?: Numpad } {
  if (!raw.includes('{') && !raw.includes('<')) return { text: raw.trim() };
  let align: Numpad | undefined;
  const text = raw
    .replace(/\{\\[^}]*\}/g, (block) => {
      const an = /\\an(\d)/.exec(block);
      const a = /\\a(\d{1,2})(?!\d)/.exec(block);
      const n = an ? Number(an[1]) : a ? legacyToNumpad(Number(a[1])) : undefined;
      if (n !== undefined && isNumpad(n)) align = n;
      return '';
    })
    .replace(SRT_TAG, (tag, name: string) =>
      /^[ibu]$/i.test(name) ? tag.toLowerCase().replace(/\s.*>$/, '>') : '',
    )
    .trim();
  return { text: balanceTags(text), ...(align && align !== 2 ? { align } : {}) };
}

/**
 * Read SubRip as real players do: a cue is a timing line (optionally after its number) and the text lines
 * up to the next blank line or the next cue. Anything else (a bad timing line and its text, junk after the last cue) is
 * skipped and reported in `warnings`; a timing line that does not parse is named by its line number.
 */
export function parseSrt(text: string): ParsedSubtitle {
  const lines = text.split('\n');
  const cues: Cue[] = [];
  const warnings: string[] = [];
  let junk: number[] = [];
  const flushJunk = () => {
    if (junk.length > 0) {
      const first = junk[0] ?? 0;
      warnings.push(`skipped ${junk.length} line(s) that are not part of a cue, from line ${first + 1}`);
    }
    junk = [];
  };
  /** Whether line `at` starts the next cue: a timing line, or a cue number and a timing line. */
  const nextCue = (at: number) =>
    TIMING.test(lines[at] ?? '') || (/^\s*\d+\s*$/.test(lines[at] ?? '') && TIMING.test(lines[at + 1] ?? ''));
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? '';
    const timing = line.includes('-->') ? TIMING.exec(line) : null;
    if (!timing) {
      if (looksLikeSrtTiming(line)) {
        // A cue whose timing line does not parse: named by its line, skipped with its text.
        flushJunk();
        warnings.push(badTiming(i));
        i++;
        while (i < lines.length && (lines[i] ?? '').trim() !== '' && !nextCue(i)) i++;
        continue;
      }
      // A cue number directly before its timing line (or a broken one, named above) is not junk; blank
      // lines never are.
      const next = lines[i + 1] ?? '';
      const numberOfNext = isCueNumber(line) && (isSrtTiming(next) || looksLikeSrtTiming(next));
      if (line.trim() !== '' && !numberOfNext) junk.push(i);
      i++;
      continue;
    }
    flushJunk();
    const n = timing.slice(1).map(Number) as [number, number, number, number, number, number, number, number];
    const body: string[] = [];
    i++;
    // The text runs to a blank line — or, in files that lost their blank lines, to the next cue's number
    // and timing line (where ffmpeg starts the next cue too).
    while (i < lines.length && (lines[i] ?? '').trim() !== '' && !nextCue(i)) body.push(lines[i++] ?? '');
    cues.push({
      start: toMs(n[0], n[1], n[2], n[3]),
      end: toMs(n[4], n[5], n[6], n[7]),
      ...srtText(body.join('\n')),
    });
  }
  flushJunk();
  return { cues, warnings };
}

/** Cues as SubRip (numbered from 1; positions cannot be expressed in plain SRT and are dropped). */
export function renderSrt(cues: readonly Cue[]): string {
  return cues.map((c, i) => `${i + 1}\n${srtTime(c.start)} --> ${srtTime(c.end)}\n${c.text}\n`).join('\n');
}
