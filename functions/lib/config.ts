import Type, { type Static, type TObject } from 'typebox';
import Value from 'typebox/value';
import { ConfigInvalid } from './errors.ts';
import { fieldIssues, type SchemaError } from './validate.ts';

export { Type };

/**
 * Parse settings from the environment once, at start-up, against a TypeBox schema: defaults applied,
 * strings converted (numbers, booleans), unknown variables ignored, empty strings treated as unset.
 * Throws ConfigInvalid naming every bad or missing setting.
 * @example const cfg = loadConfig(Type.Object({ PORT: Type.Integer({ default: 8080 }) }));
 */
export function loadConfig<S extends TObject>(schema: S, env: NodeJS.ProcessEnv = process.env): Static<S> {
  const picked: Record<string, unknown> = {};
  for (const key of Object.keys(schema.properties)) {
    const raw = env[key];
    if (raw !== undefined && raw !== '') picked[key] = raw;
  }
  const value = Value.Convert(schema, Value.Default(schema, picked));
  if (Value.Check(schema, value)) return value as Static<S>;
  // Settings are named bare (`DATABASE_URL`), not as JSON pointers.
  const issues = fieldIssues(Value.Errors(schema, value) as Iterable<SchemaError>, '').map((i) => ({
    ...i,
    field: i.field.replace(/^\//, ''),
  }));
  const names = issues.map((i) => `${i.field} ${i.message}`).join('; ');
  throw new ConfigInvalid(`invalid configuration: ${names}`, { issues });
}

/** Settings every function reads. */
export const BaseSettings = Type.Object({
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 8080 }),
  /** Knative sets K_SERVICE; locally the function name. */
  K_SERVICE: Type.Optional(Type.String({ minLength: 1 })),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
    { default: 'info' },
  ),
  /** Zipkin base URL (http://host:9411); tracing still propagates context without it. */
  ZIPKIN_URL: Type.Optional(Type.String({ format: 'uri' })),
  /** Fraction of new root traces that are sampled (propagated decisions are kept). */
  TRACE_SAMPLE_RATE: Type.Number({ minimum: 0, maximum: 1, default: 1 }),
});
export type BaseSettings = Static<typeof BaseSettings>;
