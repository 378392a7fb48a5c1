import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { ValidationFailed } from './errors.ts';

const cache = new WeakMap<TSchema, Validator>();

function validatorOf(schema: TSchema): Validator {
  let validator = cache.get(schema);
  if (!validator) {
    validator = Compile(schema);
    cache.set(schema, validator);
  }
  return validator;
}

/**
 * Check `value` against a schema; throws ValidationFailed naming each bad field as a JSON pointer
 * prefixed with `where` (`/body/score`, `/query/page`).
 * @example const input = check(RatingInput, body, '/body');
 */
export function check<T>(schema: TSchema, value: unknown, where = ''): T {
  const validator = validatorOf(schema);
  if (validator.Check(value)) return value as T;
  const issues = validator
    .Errors(value)
    .slice(0, 20)
    .map((e) => {
      const missing = (e.params as { requiredProperties?: string[] }).requiredProperties;
      const field = missing?.length ? `${e.instancePath}/${missing.join(',')}` : e.instancePath;
      return { field: `${where}${field}`, message: missing?.length ? 'is required' : e.message };
    });
  throw new ValidationFailed(
    `invalid ${where.replace(/^\//, '') || 'input'}: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`,
    { issues },
  );
}

/**
 * Convert string values (query parameters, form fields) to the schema's types, apply defaults, then check.
 */
export function convertAndCheck<T>(schema: TSchema, value: unknown, where = ''): T {
  const validator = validatorOf(schema);
  const converted = validator.Convert(validator.Default(value));
  return check<T>(schema, converted, where);
}
