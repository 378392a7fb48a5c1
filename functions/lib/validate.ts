import type { TSchema } from 'typebox';
import { Compile, type Validator } from 'typebox/compile';
import { type FieldIssue, ValidationFailed } from './errors.ts';

const cache = new WeakMap<TSchema, Validator>();

function validatorOf(schema: TSchema): Validator {
  let validator = cache.get(schema);
  if (!validator) {
    validator = Compile(schema);
    cache.set(schema, validator);
  }
  return validator;
}

/** A TypeBox validation error (what `Value.Errors` and a compiled validator's `Errors` yield). */
export interface SchemaError {
  readonly keyword: string;
  readonly schemaPath: string;
  readonly instancePath: string;
  readonly params: Record<string, unknown>;
  readonly message: string;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * TypeBox errors → field issues, one per field, each a JSON pointer prefixed with `where`: the branches of
 * a union (`anyOf`) fold into the union's own issue — for an enumeration of literals "must be one of: a,
 * b, c" with `allowed` listing them, otherwise the branches' messages joined with "or" — instead of one
 * "must be equal to constant" per branch; a missing or unknown property is named by its own pointer.
 * A `pattern` failure whose schema (`schema`, when given) lists `examples` names them in words first
 * ("must be like en or pt-BR (pattern …)"), so the detail says the expected form, not only a regex.
 * The one mapper: request validation (below) and settings (`config.ts`) both use it.
 */
export function fieldIssues(found: Iterable<SchemaError>, where: string, schema?: TSchema): FieldIssue[] {
  const errors = [...found];
  const unions = errors.filter((e) => e.keyword === 'anyOf');
  const outer = unions.filter(
    (u) => !unions.some((o) => o !== u && u.schemaPath.startsWith(`${o.schemaPath}/anyOf/`)),
  );
  const within = (e: SchemaError, u: SchemaError) => e.schemaPath.startsWith(`${u.schemaPath}/anyOf/`);
  const issues: FieldIssue[] = [];
  for (const e of errors) {
    if (unions.includes(e) && !outer.includes(e)) continue;
    if (outer.some((u) => within(e, u))) continue;
    if (e.keyword === 'anyOf') {
      const branches = errors.filter((b) => within(b, e) && b.keyword !== 'anyOf');
      const literal = (b: SchemaError) =>
        b.keyword === 'const' || b.keyword === 'enum' || (b.keyword === 'type' && b.params.type === 'null');
      if (branches.length > 0 && branches.every(literal)) {
        const allowed = branches.flatMap((b) =>
          b.keyword === 'const'
            ? [b.params.allowedValue]
            : b.keyword === 'enum'
              ? ((b.params.allowedValues as unknown[]) ?? [])
              : [null],
        );
        issues.push({
          field: `${where}${e.instancePath}`,
          message: `must be one of: ${allowed.map(show).join(', ')}`,
          allowed,
        });
      } else {
        const messages = [...new Set(branches.map((b) => b.message))];
        issues.push({
          field: `${where}${e.instancePath}`,
          message: messages.length > 0 ? messages.join(' or ') : e.message,
        });
      }
      continue;
    }
    if (e.keyword === 'enum') {
      const allowed = (e.params.allowedValues as unknown[]) ?? [];
      issues.push({
        field: `${where}${e.instancePath}`,
        message: `must be one of: ${allowed.map(show).join(', ')}`,
        allowed,
      });
      continue;
    }
    if (e.keyword === 'const') {
      issues.push({
        field: `${where}${e.instancePath}`,
        message: `must be ${show(e.params.allowedValue)}`,
        allowed: [e.params.allowedValue],
      });
      continue;
    }
    if (e.keyword === 'additionalProperties') {
      for (const name of (e.params.additionalProperties as string[] | undefined) ?? [])
        issues.push({ field: `${where}${e.instancePath}/${name}`, message: 'is not an allowed field' });
      continue;
    }
    // the per-property face of `additionalProperties: false`, named once above
    if (e.keyword === 'boolean' && e.schemaPath.endsWith('/additionalProperties')) continue;
    const missing = (e.params as { requiredProperties?: string[] }).requiredProperties;
    if (missing?.length) {
      for (const name of missing)
        issues.push({ field: `${where}${e.instancePath}/${name}`, message: 'is required' });
      continue;
    }
    const examples = e.keyword === 'pattern' && schema ? examplesAt(schema, e.schemaPath) : [];
    issues.push({
      field: `${where}${e.instancePath}`,
      message:
        examples.length > 0
          ? `must be like ${examples.join(' or ')} (${e.message.replace(/^must /, '')})`
          : e.message,
    });
  }
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.field}\n${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The string `examples` of the schema node at `schemaPath` (`#/properties/body/properties/language`); [] when none. */
function examplesAt(schema: TSchema, schemaPath: string): string[] {
  let node: unknown = schema;
  for (const part of schemaPath.replace(/^#\/?/, '').split('/').filter(Boolean)) {
    if (typeof node !== 'object' || node === null) return [];
    node = (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  const examples = (node as { examples?: unknown } | undefined)?.examples;
  return Array.isArray(examples) ? examples.filter((x): x is string => typeof x === 'string') : [];
}

/**
 * Check `value` against a schema; throws ValidationFailed naming each bad field once, as a JSON pointer
 * prefixed with `where` (`/body/score`, `/query/page`); an enumeration's issue lists the allowed values
 * (`allowed`).
 * @example const input = check(RatingInput, body, '/body');
 */
export function check<T>(schema: TSchema, value: unknown, where = ''): T {
  const validator = validatorOf(schema);
  if (validator.Check(value)) return value as T;
  const issues = fieldIssues(validator.Errors(value) as Iterable<SchemaError>, where, schema).slice(0, 20);
  throw new ValidationFailed(
    `invalid ${where.replace(/^\//, '') || 'input'}: ${issues.map((i) => `${i.field} ${i.message}`).join('; ')}`,
    { issues },
  );
}

/** Query flags written bare (`?gzip`, `?gzip=`) mean true, as on the command line and in HTML forms. */
function bareFlags(schema: TSchema, value: unknown): unknown {
  const properties = (schema as { properties?: Record<string, { type?: unknown }> }).properties;
  if (!properties || typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [name, property] of Object.entries(properties)) {
    if (property.type === 'boolean' && out[name] === '') out[name] = true;
  }
  return out;
}

/**
 * Convert string values (query parameters, form fields) to the schema's types, apply defaults, then
 * check. A boolean written as a bare flag (`?gzip`) is true.
 * @example convertAndCheck(ExportQuery, { format: 'json', gzip: '' }, '/query') // { format: 'json', gzip: true }
 */
export function convertAndCheck<T>(schema: TSchema, value: unknown, where = ''): T {
  const validator = validatorOf(schema);
  const converted = validator.Convert(validator.Default(bareFlags(schema, value)));
  return check<T>(schema, converted, where);
}
