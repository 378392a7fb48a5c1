import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { EVENTS } from './catalogue.ts';
import { asyncApi, EVENTS_DIR, keyOf, render } from './generate.ts';

interface Headers {
  required: string[];
  properties: Record<string, { description?: string }>;
}

describe('generated catalogue files', () => {
  expect([...render()], 'generated files').toHaveLength(16);
  it.each([...render()].map(([path, content]) => [path, content]))(
    '%s is up to date (run `node events/generate.ts`)',
    (path, content) => {
      expect(readFileSync(join(EVENTS_DIR, path), 'utf8')).toBe(content);
    },
  );

  it('asyncapi.yaml is a valid AsyncAPI 3.0 document describing every event type', async () => {
    const parser = new Parser();
    const { document, diagnostics } = await parser.parse(
      readFileSync(join(EVENTS_DIR, 'asyncapi.yaml'), 'utf8'),
    );
    const errors = diagnostics.filter((d) => d.severity === 0);
    expect(errors.map((d) => `${d.path.join('.')}: ${d.message}`)).toEqual([]);
    expect(document?.version()).toBe('3.0.0');
    const names = document
      ?.allMessages()
      .all()
      .map((m) => m.name());
    expect(names?.sort()).toEqual(EVENTS.map((e) => e.type).sort());
  }, 60_000); // the AsyncAPI parser takes ~1 s alone, many more on a loaded 2-core machine

  expect(EVENTS, 'event types').toHaveLength(15);
  it.each(EVENTS.map((e) => [e.type, e]))(
    'the JSON Schema of %s accepts its example and rejects junk',
    (type) => {
      const ajv = new Ajv2020.default({ strict: false });
      addFormats.default(ajv);
      const schema = JSON.parse(
        readFileSync(join(EVENTS_DIR, 'schemas/json', `${type}.schema.json`), 'utf8'),
      );
      const validate = ajv.compile(schema);
      for (const example of schema.examples) expect(validate(example)).toBe(true);
      expect(validate({ animeId: 'x', unexpected: true })).toBe(false);
      const [example] = schema.examples;
      expect(validate({ ...example, animeId: 'cowboy-bebop' }), 'a slug is not an anime id').toBe(false);
      expect(validate({ ...example, animeId: '1' }), 'nor is a numeric string').toBe(false);
    },
  );

  it.each(EVENTS.map((e) => [e.type, e.subjectRequired]))(
    'the AsyncAPI headers of %s require ce-subject only where the type needs it (%s)',
    (type, required) => {
      const messages = (asyncApi().components as { messages: Record<string, { headers: Headers }> }).messages;
      const headers = messages[keyOf(type)]?.headers;
      expect(headers?.required.includes('ce-subject')).toBe(required);
      expect(headers?.properties['ce-subject']?.description).toMatch(required ? /^Required/ : /^Optional/);
    },
  );

  it('one JSON style: camelCase fields, integer anime ids, UTC Z timestamps in every data schema', () => {
    const walk = (schema: Record<string, unknown>, path: string, out: string[]) => {
      const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
      for (const [name, property] of Object.entries(properties)) {
        if (!/^[a-z][a-zA-Z0-9]*$/.test(name)) out.push(`${path}/${name} is not camelCase`);
        if (name === 'animeId' && property.type !== 'integer') out.push(`${path}/animeId is not an integer`);
        if (property.format === 'date-time' && !String(property.pattern).endsWith('Z$'))
          out.push(`${path}/${name} allows offsets other than Z`);
        walk(property, `${path}/${name}`, out);
      }
    };
    const problems: string[] = [];
    for (const spec of EVENTS) walk(JSON.parse(JSON.stringify(spec.data)), spec.type, problems);
    expect(problems).toEqual([]);
  });

  it('every timestamp in every example ends in Z', () => {
    for (const spec of EVENTS) {
      for (const [name, value] of Object.entries(spec.example)) {
        if (/At$/.test(name)) expect(value, `${spec.type} ${name}`).toMatch(/Z$/);
      }
    }
  });
});
