import { UnsupportedMediaType } from '../../errors.ts';
import { isCueNumber, isSrtTiming, looksLikeSrtTiming } from './srt.ts';

/** Subtitle formats the database stores (the `format` of dev.isekai.subtitle.uploaded.v1). */
export type SubtitleFormat = 'srt' | 'vtt' | 'ass' | 'ssa';
/** Formats a download can be converted to. */
export const TARGET_FORMATS = ['srt', 'vtt', 'ass'] as const;
export type TargetFormat = (typeof TARGET_FORMATS)[number];

/** Media types served for each format. */
export const MEDIA_TYPES: Readonly<Record<SubtitleFormat, string>> = {
  srt: 'application/x-subrip; charset=utf-8',
  vtt: 'text/vtt; charset=utf-8',
  ass: 'text/x-ssa; charset=utf-8',
  ssa: 'text/x-ssa; charset=utf-8',
};

/** The format of normalised subtitle text, from its content (never from the file name), or undefined. */
export function sniffFormat(text: string): SubtitleFormat | undefined {
  const head = text.trimStart();
  if (/^WEBVTT(?:[ \t\n]|$)/.test(head)) return 'vtt';
  if (/^\[Script Info\]/im.test(head.slice(0, 4096))) {
    if (/^\[V4\+ Styles\]/im.test(text) || /^ScriptType:\s*v4\.00\+/im.test(text)) return 'ass';
    return 'ssa';
  }
  // SRT: a timing line among the first lines (players skip a title or credit line before the first cue,
  // and accept a cue without its number); the parser reports what it skipped. A cue number followed by a
  // timing line that does not parse is SRT too: recognised, and refused as unusable (422) naming the line.
  const lines = head.split('\n', 30);
  if (lines.some(isSrtTiming)) return 'srt';
  if (lines.some((line, i) => isCueNumber(line) && looksLikeSrtTiming(lines[i + 1] ?? ''))) return 'srt';
  return undefined;
}

/** Like sniffFormat, but a file in no known format is refused (415 naming `/body/file`). */
export function detectFormat(text: string): SubtitleFormat {
  const format = sniffFormat(text);
  if (!format) {
    throw new UnsupportedMediaType('the file is not a subtitle format we accept', {
      issues: [{ field: '/body/file', message: 'must be SRT, WebVTT or ASS/SSA' }],
    });
  }
  return format;
}
