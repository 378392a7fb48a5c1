/**
 * Where a cue sits on screen, as a numpad digit (ASS `\an`): 1–3 bottom, 4–6 middle, 7–9 top; left,
 * centre, right within each row. Absent means 2 (bottom centre), every format's default.
 */
export type Numpad = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

/** One timed line of text, the common ground of every format (times in milliseconds). */
export interface Cue {
  readonly start: number;
  readonly end: number;
  /**
   * Plain lines separated by `\n`. `<i>`, `<b>`, `<u>` and their closers are formatting; every other
   * character, `<`, `>` and `&` included, is literal text.
   */
  readonly text: string;
  /** Position on screen when not bottom centre. */
  readonly align?: Numpad;
  /**
   * Where the cue's anchor point is (ASS `\pos(x,y)`), in percent of the video's width and height (0–100,
   * from the top left); `align` then says which point of the text box sits there (7 its top left … 3 its
   * bottom right), as libass places a positioned line.
   */
  readonly pos?: { readonly x: number; readonly y: number };
  /** WebVTT cue settings as read from a WebVTT file (valid ones only), kept for WebVTT output. */
  readonly settings?: string;
}

/** A subtitle file's cues and what was skipped on the way (junk blocks, padding): reported, not fatal. */
export interface ParsedSubtitle {
  readonly cues: Cue[];
  readonly warnings: string[];
}

/** The formatting tags the common text keeps. */
export const FORMAT_TAG = /<\/?[ibu]>/g;

/** Whether a number is a numpad position. */
export const isNumpad = (n: number): n is Numpad => Number.isInteger(n) && n >= 1 && n <= 9;

/** ASS/SSA legacy alignment (`\a`, SSA styles: 1–3 bottom, 5–7 top, 9–11 middle) as a numpad digit. */
export function legacyToNumpad(legacy: number): Numpad | undefined {
  const map: Record<number, Numpad> = { 1: 1, 2: 2, 3: 3, 5: 7, 6: 8, 7: 9, 9: 4, 10: 5, 11: 6 };
  return map[legacy];
}

/** Close formatting tags left open at the end of a cue's text, in reverse order of opening. */
export function balanceTags(text: string): string {
  if (!text.includes('<')) return text;
  const open: string[] = [];
  for (const [tag] of text.matchAll(FORMAT_TAG)) {
    const name = tag.replace(/[</>]/g, '');
    if (tag.startsWith('</')) {
      const at = open.lastIndexOf(name);
      if (at >= 0) open.splice(at, 1);
    } else open.push(name);
  }
  return (
    text +
    open
      .reverse()
      .map((name) => `</${name}>`)
      .join('')
  );
}
