/** ISO-8601 durations as Knative's delivery spec takes them (`backoffDelay: PT0.5S`). */
const ISO_DURATION =
  /^P(?!$)(?:(\d+(?:\.\d+)?)D)?(?:T(?=\d)(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/** Milliseconds of an ISO-8601 duration (days and time parts, as Knative accepts), or undefined. */
export function isoDurationMs(text: string): number | undefined {
  const m = ISO_DURATION.exec(text);
  if (!m) return undefined;
  const [d, h, min, s] = [m[1], m[2], m[3], m[4]].map((x) => Number(x ?? 0)) as [
    number,
    number,
    number,
    number,
  ];
  return Math.round(((d * 24 + h) * 60 + min) * 60_000 + s * 1000);
}
