const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** Milliseconds from hours, minutes, seconds and milliseconds. */
export const toMs = (h: number, m: number, s: number, ms: number): number =>
  ((h * 60 + m) * 60 + s) * 1000 + ms;

function split(ms: number) {
  const t = Math.max(0, Math.round(ms));
  return {
    h: Math.floor(t / 3_600_000),
    m: Math.floor(t / 60_000) % 60,
    s: Math.floor(t / 1000) % 60,
    ms: t % 1000,
  };
}

/** `HH:MM:SS,mmm`: hours never wrap at 24 (as many digits as they need, at least two). */
export function srtTime(ms: number): string {
  const t = split(ms);
  return `${pad(t.h)}:${pad(t.m)}:${pad(t.s)},${pad(t.ms, 3)}`;
}

/** `HH:MM:SS.mmm` (WebVTT: hours are "two or more digits"). */
export const vttTime = (ms: number): string => srtTime(ms).replace(',', '.');

/** `H:MM:SS.CC` (ASS keeps centiseconds; hours as many digits as they need). */
export function assTime(ms: number): string {
  const cs = Math.max(0, Math.round(ms / 10));
  return `${Math.floor(cs / 360_000)}:${pad(Math.floor(cs / 6000) % 60)}:${pad(Math.floor(cs / 100) % 60)}.${pad(cs % 100)}`;
}

/**
 * An ASS/SSA time as libass reads it (`%d:%d:%d.%d`, the last number in centiseconds), or undefined.
 * @example parseAssTime('0:01:02.50') // 62_500
 */
export function parseAssTime(raw: string): number | undefined {
  const m = /^\s*(\d+):(\d+):(\d+)[.:](\d+)\s*$/.exec(raw);
  if (!m) return undefined;
  return toMs(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]) * 10);
}

/** How a download's times move: `t × ratio + shift` (ratio = source fps / target fps). */
export interface Retiming {
  readonly shiftMs: number;
  readonly ratio: number;
}

/** Apply a retiming to one time (never below zero). */
export const retime = (ms: number, r: Retiming): number => Math.max(0, Math.round(ms * r.ratio) + r.shiftMs);

/**
 * The retiming that maps two subtitle times onto two video times (sync by two reference points: the
 * first and last line as heard), or undefined when the points cannot define one (same subtitle time).
 * @example fromTwoPoints([1000, 1500], [600_000, 601_200]) // ratio ≈ 1.0012, shift ≈ 499
 */
export function fromTwoPoints(
  [s1, v1]: readonly [number, number],
  [s2, v2]: readonly [number, number],
): Retiming | undefined {
  if (s1 === s2) return undefined;
  const ratio = (v2 - v1) / (s2 - s1);
  if (!(ratio > 0)) return undefined;
  return { ratio, shiftMs: Math.round(v1 - s1 * ratio) };
}
