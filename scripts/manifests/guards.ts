/**
 * Narrowing helpers for parsed YAML; failures throw ManifestError naming the field.
 */

/** Thrown when a manifest lacks a field the platform relies on; the message names file and field. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

/** The string-valued `keys` of `spec`, absent ones left out. */
export function optionalStrings(spec: Record<string, unknown>, keys: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (typeof spec[k] === 'string') out[k] = spec[k];
  return out;
}

/** `value` as an object, or a ManifestError naming `where`. */
export function record(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new ManifestError(`${where}: required object`);
  return value;
}

/** `value` as a non-empty string, or a ManifestError naming `where`. */
export function str(value: unknown, where: string): string {
  if (typeof value !== 'string' || value === '') throw new ManifestError(`${where}: required string`);
  return value;
}

/** Whether `value` is a plain object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
