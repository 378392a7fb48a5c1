import Type from 'typebox';

/** Video frame rates a subtitle can be timed to, as written (`23.976` is NTSC film: 24000/1001). */
export const FRAME_RATES = {
  '23.976': 24000 / 1001,
  '24': 24,
  '25': 25,
  '29.97': 30000 / 1001,
  '30': 30,
} as const;
export type FrameRate = keyof typeof FRAME_RATES;

/** Schema of a frame rate in a form field or query parameter. */
export const FrameRateSchema = Type.Union(
  (Object.keys(FRAME_RATES) as FrameRate[]).map((f) => Type.Literal(f)),
);

/** The ratio that retimes a subtitle timed to `from` for a video at `to` (t × from/to). */
export const fpsRatio = (from: FrameRate, to: FrameRate): number => FRAME_RATES[from] / FRAME_RATES[to];
