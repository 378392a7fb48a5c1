/**
 * Plain words for the API's field errors (RFC 9457 problem details with `errors: [{field, message}]`,
 * functions/lib/validate.ts): one mapping every form on the site uses, so a viewer never reads a JSON
 * schema (`must match pattern "^[a-z]{2,3}…"`). A known field has its own sentence; otherwise the schema
 * keyword in the message (pattern, required, length, range, enumeration) becomes a sentence naming the
 * field by its label; an unknown message is kept, after the label.
 */

/** Field name of an issue's JSON pointer (`/body/aspects/music` → `music`; `/body/languages/0` → `languages`). */
export function fieldOf(pointer: string): string {
  const parts = pointer.split('/').filter(Boolean);
  while (parts.length > 1 && /^\d+$/.test(parts.at(-1) ?? '')) parts.pop();
  return parts.at(-1) ?? '';
}

/** Pointers that name the whole request body (an upload's file, a document), not one field of it. */
export const isWholeBody = (pointer: string): boolean => ['', 'body'].includes(fieldOf(pointer));

const SCORE = 'Choose a score from 1 to 10, or leave it empty.';

/** The sentence for a field whatever went wrong with it (its only rule, said in words). */
const BY_FIELD: Record<string, string> = {
  progress: 'Episodes watched must be a whole number from 0 up to the episode count.',
  rewatchCount: 'Rewatches must be a whole number from 0.',
  startedOn: 'Use a real date (YYYY-MM-DD).',
  finishedOn: 'Use a real date (YYYY-MM-DD), not before the start.',
  score: 'Choose a score from 1 to 10.',
  animation: SCORE,
  music: SCORE,
  plot: SCORE,
  characters: SCORE,
  status: 'Choose a status.',
  language: 'Use a language tag such as en or pt-BR.',
  languages: 'Use language tags such as en, pt-BR or ja (at most 10).',
  displayName: 'A display name is 1 to 100 characters of text.',
  animeId: 'Choose an anime (its catalogue number).',
  episode: 'The episode is a whole number from 1.',
  episodeTo: 'The last episode is a whole number, not before the first.',
  fps: 'Choose a frame rate from the list.',
};

/** How a field is named in a sentence built from its keyword. */
const LABELS: Record<string, string> = {
  release: 'The release name',
  notes: 'The notes text',
  review: 'The review text',
  file: 'The file',
  email: 'The e-mail address',
  url: 'The address',
  name: 'The name',
  slug: 'The short name',
};

const labelOf = (field: string): string =>
  LABELS[field] ??
  (field
    ? `${field.charAt(0).toUpperCase()}${field
        .slice(1)
        .replace(/([a-z])([A-Z])/g, '$1 $2')
        .toLowerCase()}`
    : 'This field');

/** Keyword messages (TypeBox's, as functions/lib/validate.ts passes them on) → the rest of a sentence. */
const KEYWORDS: [RegExp, (m: RegExpMatchArray) => string][] = [
  [/^is required$/, () => 'is required.'],
  [/^is not an allowed field$/, () => 'is not a field of this form.'],
  [/^must be one of: (.*)$/, (m) => `must be one of: ${m[1]}.`],
  [/^must be like (.*) \(match pattern .*\)$/, (m) => `must look like ${m[1]}.`],
  [/^must match pattern /, () => 'is not in the expected form.'],
  [/^must match format "date"$/, () => 'must be a date (YYYY-MM-DD).'],
  [/^must match format "(?:uri|url)"$/, () => 'must be a web address (https://…).'],
  [/^must match format "email"$/, () => 'must be an e-mail address.'],
  [/^must NOT have more than (\d+) characters?$/, (m) => `is too long (${m[1]} characters at most).`],
  [/^must NOT have fewer than 1 characters?$/, () => 'must not be empty.'],
  [/^must NOT have fewer than (\d+) characters?$/, (m) => `is too short (${m[1]} characters at least).`],
  [/^must NOT have more than (\d+) items?$/, (m) => `has too many entries (${m[1]} at most).`],
  [/^must be (?:<=|less than or equal to) (-?[\d.]+)$/, (m) => `must be at most ${m[1]}.`],
  [/^must be (?:>=|greater than or equal to) (-?[\d.]+)$/, (m) => `must be at least ${m[1]}.`],
  [/^must be integer$/, () => 'must be a whole number.'],
  [/^must be number$/, () => 'must be a number.'],
  [/^must be boolean$/, () => 'must be yes or no.'],
];

/**
 * The plain sentence for one API field error.
 * @example plainFieldMessage('/body/language', 'must match pattern "^[a-z]{2,3}…"') === 'Use a language tag such as en or pt-BR.'
 * @example plainFieldMessage('/body/release', 'must NOT have more than 200 characters') === 'The release name is too long (200 characters at most).'
 */
export function plainFieldMessage(pointer: string, message: string): string {
  const field = fieldOf(pointer);
  const known = BY_FIELD[field];
  if (known) return known;
  for (const [pattern, sentence] of KEYWORDS) {
    const m = message.match(pattern);
    if (m) return `${labelOf(field)} ${sentence(m)}`;
  }
  return `${labelOf(field)}: ${message}`;
}

/**
 * Field errors → one plain message per form field (the first issue of a field wins). Issues about the
 * whole body (`/body`: a file that does not parse) name no field of the form and are left out: the
 * problem's `detail` says them (describeProblem puts it next to the form's file field).
 */
export function fieldErrors(issues: readonly { field: string; message: string }[]): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const issue of issues)
    if (!isWholeBody(issue.field))
      errors[fieldOf(issue.field)] ??= plainFieldMessage(issue.field, issue.message);
  return errors;
}

/** A message as a sentence: capital first letter, final full stop. */
export const sentence = (text: string): string => {
  const t = text.trim();
  if (!t) return t;
  const s = `${t.charAt(0).toUpperCase()}${t.slice(1)}`;
  return /[.!?]$/.test(s) ? s : `${s}.`;
};
