/**
 * HTML forms → the API's input types, checked against the functions' own TypeBox schemas (one source of
 * truth): a bad field comes back as a message next to that field, with what the user typed kept.
 */
import { ValidationFailed } from '../../../functions/lib/errors.ts';
import { RatingInput } from '../../../functions/lib/tracking/rating-schemas.ts';
import { check } from '../../../functions/lib/validate.ts';
import { EntryInput, isRealDate } from '../../../functions/library/schemas.ts';
import { ApiProblem } from './api.ts';
import { fieldErrors, isWholeBody, plainFieldMessage, sentence } from './field-messages.ts';

/** What a form sent (strings, as typed) and the message for each bad field. */
export interface FormState {
  values: Record<string, string>;
  errors: Record<string, string>;
}

export type Parsed<T> = { ok: true; value: T; state: FormState } | { ok: false; state: FormState };

const text = (form: FormData, name: string) => {
  const v = form.get(name);
  return typeof v === 'string' ? v.trim() : '';
};

/** A whole number field; '' → undefined; anything else that is not an integer is kept as text (schema rejects it). */
function integer(raw: string): number | string | undefined {
  if (raw === '') return undefined;
  return /^-?\d{1,9}$/.test(raw) ? Number(raw) : raw;
}

export { fieldOf } from './field-messages.ts';

const issuesToErrors = fieldErrors;

function validate<T>(
  schema: Parameters<typeof check>[0],
  value: unknown,
  values: Record<string, string>,
): Parsed<T> {
  try {
    return { ok: true, value: check<T>(schema, value, '/body'), state: { values, errors: {} } };
  } catch (error) {
    if (error instanceof ValidationFailed)
      return { ok: false, state: { values, errors: issuesToErrors(error.issues) } };
    throw error;
  }
}

/** The list-entry form (status, progress, rewatches, dates, notes, private, favourite). */
export function entryForm(form: FormData): Parsed<EntryInput> {
  const names = [
    'status',
    'progress',
    'rewatchCount',
    'startedOn',
    'finishedOn',
    'notes',
    'private',
    'favourite',
  ];
  const values = Object.fromEntries(names.map((n) => [n, text(form, n)]));
  const body: Record<string, unknown> = {};
  if (values.status) body.status = values.status;
  for (const n of ['progress', 'rewatchCount'] as const) {
    const v = integer(values[n] ?? '');
    if (v !== undefined) body[n] = v;
  }
  // Dates and notes: present in the full form (empty clears them); absent in the short list-row form.
  for (const n of ['startedOn', 'finishedOn', 'notes'] as const) if (form.has(n)) body[n] = values[n] || null;
  if (form.has('flags')) {
    body.private = values.private === 'on';
    body.favourite = values.favourite === 'on';
  }
  const parsed = validate<EntryInput>(EntryInput, body, values);
  // The library's own rule for dates (a real day), so the viewer hears it before the API does.
  for (const n of ['startedOn', 'finishedOn'] as const) {
    const v = body[n];
    if (typeof v === 'string' && !isRealDate(v)) parsed.state.errors[n] ??= plainFieldMessage(n, '');
  }
  return Object.keys(parsed.state.errors).length > 0 ? { ok: false, state: parsed.state } : parsed;
}

/** The rating form: score, aspect scores (empty = none), review (empty = none). */
export function ratingForm(form: FormData): Parsed<RatingInput> {
  const names = ['score', 'animation', 'music', 'plot', 'characters', 'review'];
  const values = Object.fromEntries(names.map((n) => [n, text(form, n)]));
  const aspects: Record<string, unknown> = {};
  for (const n of ['animation', 'music', 'plot', 'characters']) aspects[n] = integer(values[n] ?? '') ?? null;
  const body: Record<string, unknown> = { score: integer(values.score ?? '') ?? '', aspects };
  if (form.has('review')) body.review = values.review || null;
  if (body.score === '')
    return { ok: false, state: { values, errors: { score: plainFieldMessage('score', '') } } };
  return validate<RatingInput>(RatingInput, body, values);
}

/**
 * A friendly sentence for an API problem, and plain field errors when the API named fields
 * (field-messages.ts). A validation failure about the whole body (`/body`: a file that is not XML) names
 * no field: its reason, the problem's `detail`, goes to `bodyField` (the form's file input) when the form
 * has one, else into the message.
 */
export function describeProblem(
  error: unknown,
  options: { bodyField?: string } = {},
): { message: string; errors: Record<string, string> } {
  if (!(error instanceof ApiProblem))
    return { message: 'Something went wrong on our side. Please try again.', errors: {} };
  const errors = issuesToErrors(error.errors);
  if (error.code === 'validation_failed') {
    const wholeBody = error.errors.length === 0 || error.errors.some((e) => isWholeBody(e.field));
    if (wholeBody && options.bodyField) errors[options.bodyField] ??= sentence(error.message);
    if (Object.keys(errors).length > 0) return { message: 'Please check the highlighted fields.', errors };
    return { message: `Please check your input: ${sentence(error.message)}`, errors };
  }
  const message =
    {
      not_found: 'That anime or entry no longer exists.',
      unauthenticated: 'Your sign-in has expired. Please sign in again.',
      forbidden: 'Your account is not allowed to do this.',
      conflict: 'That changed in the meantime. Reload and try again.',
      rate_limited: 'Too many requests in a short time. Wait a moment and try again.',
      payload_too_large: 'The file is too large (16 MiB at most).',
      unsupported_media_type: 'That file type is not supported.',
      dependency_unavailable: 'The service is busy right now. Please try again in a few seconds.',
    }[error.code] ?? `The request failed: ${error.message}`;
  return { message, errors };
}
