import { Type } from 'typebox';
import { describe, expect, it } from 'vitest';
import { Language } from '../../events/schemas/common.ts';
import { ValidationFailed } from './errors.ts';
import { check } from './validate.ts';

const refusal = (schema: Parameters<typeof check>[0], value: unknown): ValidationFailed => {
  try {
    check(schema, value, '/body');
  } catch (error) {
    if (error instanceof ValidationFailed) return error;
    throw error;
  }
  throw new Error('accepted');
};

describe('check: a pattern failure names the expected form', () => {
  it('with the schema’s examples in words, the pattern after them', () => {
    const error = refusal(Type.Object({ language: Language }), { language: 'english please' });
    expect(error.code).toBe('validation_failed');
    expect(error.issues).toEqual([
      {
        field: '/body/language',
        message: 'must be like en or pt-BR (match pattern "^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")',
      },
    ]);
    expect(error.message).toContain('/body/language must be like en or pt-BR');
  });

  it('without examples, the pattern as before', () => {
    const error = refusal(Type.Object({ slug: Type.String({ pattern: '^[a-z]+$' }) }), { slug: 'A B' });
    expect(error.issues).toEqual([{ field: '/body/slug', message: 'must match pattern "^[a-z]+$"' }]);
  });
});
