import { describe, expect, it } from 'vitest';
import { formatRecord, judge, parseRecord, removalNote, type Summary } from './test-count.ts';

const run = (unit: number, integration: number, e2e?: number): Summary => {
  const projects: Summary['projects'] = {
    unit: { passed: unit, failed: 0, skipped: 0 },
    integration: { passed: integration, failed: 0, skipped: 0 },
    ...(e2e === undefined ? {} : { e2e: { passed: e2e, failed: 0, skipped: 0 } }),
  };
  return { passed: unit + integration + (e2e ?? 0), failed: 0, skipped: 0, projects };
};
const recorded = parseRecord(formatRecord(run(500, 300, 100)));

describe('test count check', () => {
  it('reads back what it records', () => {
    expect(recorded).toEqual({ total: 900, projects: { e2e: 100, integration: 300, unit: 500 } });
  });

  const cases: [string, Summary, string, boolean][] = [
    ['the same count passes', run(500, 300, 100), 'catalog: faster search', true],
    ['more tests pass', run(510, 300, 100), 'catalog: more tests', true],
    ['one test fewer fails', run(499, 300, 100), 'catalog: tidy tests', false],
    [
      'one test fewer with a Tests-Removed trailer passes',
      run(499, 300, 100),
      'tidy\n\nTests-Removed: duplicate of x',
      true,
    ],
    ['an empty trailer is no note', run(499, 300, 100), 'tidy\n\nTests-Removed:', false],
    ['a project that did not run fails even when the total holds', run(700, 300), 'unit: more', false],
    ['moving tests between projects passes', run(450, 350, 100), 'move tests', true],
  ];
  expect(cases, 'verdict cases').toHaveLength(7);
  it.each(cases)('%s', (_name, summary, message, ok) => {
    expect(judge(recorded, summary, message).ok).toBe(ok);
  });

  it('finds the trailer anywhere in the message, case-insensitively', () => {
    expect(removalNote('a\n\nSigned-off-by: x\ntests-removed: the echo fixture tests\n')).toBe(
      'the echo fixture tests',
    );
    expect(removalNote('Tests-Removed in the subject is not a trailer')).toBeUndefined();
  });

  it('refuses a record without a total', () => {
    expect(() => parseRecord('unit 5\n')).toThrow(/no "total N" line/);
  });
});
