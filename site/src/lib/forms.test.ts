import { describe, expect, it } from 'vitest';
import { ApiProblem } from './api.ts';
import { describeProblem, entryForm, ratingForm } from './forms.ts';

const form = (fields: Record<string, string>) => {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
};

describe('the list-entry form', () => {
  it('becomes the library EntryInput: numbers, cleared dates and notes, checkbox flags', () => {
    const parsed = entryForm(
      form({
        status: 'watching',
        progress: '3',
        rewatchCount: '0',
        startedOn: '2024-01-02',
        finishedOn: '',
        notes: '',
        flags: '1',
        favourite: 'on',
      }),
    );
    expect(parsed.ok && parsed.value).toEqual({
      status: 'watching',
      progress: 3,
      rewatchCount: 0,
      startedOn: '2024-01-02',
      finishedOn: null,
      notes: null,
      private: false,
      favourite: true,
    });
  });

  it('the short list-row form leaves dates, notes and flags alone', () => {
    const parsed = entryForm(form({ status: 'completed', progress: '12' }));
    expect(parsed.ok && parsed.value).toEqual({ status: 'completed', progress: 12 });
  });

  it.each([
    ['progress', { progress: 'three' }],
    ['progress', { progress: '-1' }],
    ['startedOn', { startedOn: '2024-13-40' }],
    ['status', { status: 'binge' }],
  ])('a bad %s is named next to its field, the input kept', (field, fields) => {
    const parsed = entryForm(form(fields));
    expect(parsed.ok).toBe(false);
    expect(parsed.state.errors[field]).toBeTruthy();
    expect(parsed.state.values[field]).toBe(Object.values(fields)[0]);
  });
});

describe('the rating form', () => {
  it('becomes RatingInput with empty aspects as null and an optional review', () => {
    const parsed = ratingForm(
      form({ score: '8', music: '10', animation: '', plot: '', characters: '', review: 'Good' }),
    );
    expect(parsed.ok && parsed.value).toEqual({
      score: 8,
      aspects: { animation: null, music: 10, plot: null, characters: null },
      review: 'Good',
    });
  });

  it.each([
    ['no score', { score: '' }, 'score'],
    ['a score of 11', { score: '11' }, 'score'],
    ['an aspect of 0', { score: '5', plot: '0' }, 'plot'],
  ])('refuses %s', (_name, fields, field) => {
    const parsed = ratingForm(form(fields));
    expect(parsed.ok).toBe(false);
    expect(parsed.state.errors[field]).toBeTruthy();
  });
});

describe('API problems as sentences', () => {
  it.each([
    [429, 'rate_limited', /Wait a moment/],
    [503, 'dependency_unavailable', /busy/],
    [401, 'unauthenticated', /sign in again/],
  ])('%i %s', (status, code, message) => {
    expect(describeProblem(new ApiProblem(status, { code: code as never })).message).toMatch(message);
  });

  it('field errors from the API land on the fields, never as raw JSON', () => {
    const problem = new ApiProblem(400, {
      code: 'validation_failed',
      detail: 'invalid dates',
      errors: [{ field: '/body/finishedOn', message: 'must not be before startedOn' }],
    });
    const { message, errors } = describeProblem(problem);
    expect(message).toBe('Please check the highlighted fields.');
    expect(errors.finishedOn).toMatch(/not before the start/);
  });

  it('anything that is not an API problem is a generic sentence', () => {
    expect(describeProblem(new Error('ECONNRESET')).message).toMatch(/went wrong on our side/);
  });
});
