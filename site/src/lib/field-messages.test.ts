import { describe, expect, it } from 'vitest';
import { ApiProblem } from './api.ts';
import { fieldErrors, fieldOf, plainFieldMessage } from './field-messages.ts';
import { describeProblem } from './forms.ts';

const LANGUAGE_PATTERN = 'must match pattern "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"';

describe('plainFieldMessage: API field errors in plain words', () => {
  it.each([
    [
      'a language tag that does not match',
      '/body/language',
      LANGUAGE_PATTERN,
      'Use a language tag such as en or pt-BR.',
    ],
    [
      'one of the preferred languages',
      '/body/languages/2',
      LANGUAGE_PATTERN,
      'Use language tags such as en, pt-BR or ja (at most 10).',
    ],
    [
      'an unknown field with a pattern',
      '/body/slug',
      'must match pattern "^[a-z0-9-]+$"',
      'The short name is not in the expected form.',
    ],
    [
      'a length limit',
      '/body/release',
      'must NOT have more than 200 characters',
      'The release name is too long (200 characters at most).',
    ],
    ['a missing field', '/body/groupName', 'is required', 'Group name is required.'],
    ['an enumeration', '/body/kind', 'must be one of: a, b', 'Kind must be one of: a, b.'],
    ['a range', '/query/page', 'must be <= 500', 'Page must be at most 500.'],
  ])('%s', (_name, field, message, plain) => {
    const shown = plainFieldMessage(field, message);
    expect(shown).toBe(plain);
    expect(shown).not.toMatch(/pattern|\/body|\^/);
  });

  it('an array element is its array field', () => {
    expect(fieldOf('/body/languages/0')).toBe('languages');
    expect(fieldOf('/body/aspects/music')).toBe('music');
  });

  it('issues about the whole body name no field', () => {
    expect(fieldErrors([{ field: '/body', message: 'line 1: not XML' }])).toEqual({});
  });
});

describe('describeProblem: the one mapping every form uses', () => {
  const upload = new ApiProblem(400, {
    code: 'validation_failed',
    detail: `invalid body: /body/language ${LANGUAGE_PATTERN}`,
    errors: [{ field: '/body/language', message: LANGUAGE_PATTERN }],
  });
  const notXml = new ApiProblem(400, {
    code: 'validation_failed',
    detail: 'the file is not well-formed XML (line 1: char "n" is not expected)',
    errors: [{ field: '/body', message: 'line 1: char "n" is not expected' }],
  });

  it('a pattern failure is a plain sentence on its field', () => {
    expect(describeProblem(upload).errors).toEqual({ language: 'Use a language tag such as en or pt-BR.' });
  });

  it("a file the API cannot read: its reason goes next to the form's file field", () => {
    const { message, errors } = describeProblem(notXml, { bodyField: 'file' });
    expect(errors.file).toBe('The file is not well-formed XML (line 1: char "n" is not expected).');
    expect(message).toBe('Please check the highlighted fields.');
  });

  it('without a file field the reason is in the message, never "check the highlighted fields"', () => {
    const { message, errors } = describeProblem(notXml);
    expect(errors).toEqual({});
    expect(message).toMatch(/not well-formed XML \(line 1/);
  });
});
