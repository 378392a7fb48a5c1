import { describe, expect, it } from 'vitest';
import { BaseSettings, loadConfig, Type } from './config.ts';
import { ConfigInvalid } from './errors.ts';

describe('loadConfig', () => {
  const Schema = Type.Object({
    PORT: Type.Integer({ minimum: 1, default: 8080 }),
    DATABASE_URL: Type.String({ pattern: '^postgres(ql)?://' }),
    CACHE: Type.Boolean({ default: true }),
  });

  it('applies defaults and converts strings', () => {
    const cfg = loadConfig(Schema, { DATABASE_URL: 'postgres://x/db', CACHE: 'false', OTHER: 'ignored' });
    expect(cfg).toEqual({ PORT: 8080, DATABASE_URL: 'postgres://x/db', CACHE: false });
  });

  it.each([
    ['a missing setting', { PORT: '1' }, 'DATABASE_URL'],
    ['a malformed number', { PORT: 'eighty', DATABASE_URL: 'postgres://x' }, 'PORT'],
    ['a malformed URL', { DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    ['an empty string as unset', { DATABASE_URL: '' }, 'DATABASE_URL'],
  ])('fails fast on %s, naming the setting', (_name, env, field) => {
    let caught: unknown;
    try {
      loadConfig(Schema, env);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigInvalid);
    const error = caught as ConfigInvalid;
    expect(error.code).toBe('config_invalid');
    expect(error.issues.map((i) => i.field)).toContain(field);
    expect(error.message).toContain(field);
  });

  it('reads the base settings with their defaults', () => {
    expect(loadConfig(BaseSettings, {})).toMatchObject({
      PORT: 8080,
      LOG_LEVEL: 'info',
      TRACE_SAMPLE_RATE: 1,
    });
    expect(() => loadConfig(BaseSettings, { LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL/);
  });
});
