import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from '@asyncapi/parser';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { EVENTS } from './catalogue.ts';
import { EVENTS_DIR, render } from './generate.ts';

describe('generated catalogue files', () => {
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
    },
  );
});
