import { describe, expect, it } from 'vitest';
import { ALLOWED, importsOf, LAYERS, layerOf, sourceFiles, violation } from './layout.ts';

const files = sourceFiles();
const imports = files.flatMap((file) => importsOf(file));

describe('the folder layout (scripts/layout.ts, root README "Where things are")', () => {
  it('reads the tree: every layer has files and relative imports are found', () => {
    const layers = new Set(files.map(layerOf));
    for (const layer of LAYERS) expect(layers, layer).toContain(layer);
    expect(imports.length).toBeGreaterThan(500);
  });

  it('no function imports another function', () => {
    const crossing = imports
      .filter((i) => violation(i)?.startsWith('function '))
      .map((i) => `${i.from} → ${i.to}`);
    expect(crossing).toEqual([]);
  });

  it('every import points down the folder order', () => {
    const wrong = imports.flatMap((i) => {
      const why = violation(i);
      return why ? [`${i.from} → ${i.to}: ${why}`] : [];
    });
    expect(wrong).toEqual([]);
  });

  it('events/ is the contract: it imports nothing from the rest of the repo', () => {
    const out = imports.filter((i) => i.from.startsWith('events/') && !i.to.startsWith('events/'));
    expect(out).toEqual([]);
  });

  it('each allowed exception still exists (a stale one is removed)', () => {
    for (const a of ALLOWED)
      expect(imports, `${a.from} → ${a.to}`).toContainEqual({ from: a.from, to: a.to });
  });

  it('the rule catches what it is for', () => {
    expect(violation({ from: 'functions/notify/notify.ts', to: 'functions/notifications/inbox.ts' })).toMatch(
      /^function notify imports function notifications/,
    );
    expect(violation({ from: 'events/catalogue.ts', to: 'functions/lib/errors.ts' })).toMatch(
      /^events may not import functions\/lib/,
    );
    expect(violation({ from: 'functions/lib/x.ts', to: 'functions/catalog/queries.ts' })).toMatch(
      /may not import/,
    );
    expect(violation({ from: 'scripts/start.ts', to: 'test/setup/servers/x.ts' })).toMatch(
      /may not import test/,
    );
    expect(
      violation({ from: 'functions/catalog/catalog.ts', to: 'functions/lib/errors.ts' }),
    ).toBeUndefined();
    expect(violation({ from: 'functions/lib/x.test.ts', to: 'test/support/http.ts' })).toBeUndefined();
    expect(violation({ from: 'functions/lib/x.ts', to: 'test/support/http.ts' })).toMatch(
      /may not import test/,
    );
    // a template-literal dynamic import names its folder
    expect(
      importsOf('test/setup/x.ts', ['await import(`../../scripts/servers/', '$', '{name}.ts`)'].join('')),
    ).toEqual([{ from: 'test/setup/x.ts', to: 'scripts/servers' }]);
  });
});
