import { execFile } from 'node:child_process';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_OPTIONS } from './build.ts';

const root = new URL('..', import.meta.url).pathname;
// Inside the repository, so the bundle's require() of what it left out finds node_modules (as it would not
// in an image: there it fails the same way as the optional add-ons in BUNDLE_OPTIONS.external).
const out = join(root, 'dist', `build-test-${process.pid}`);
const file = join(out, 'entry.mjs');

// What a function's start loads of prom-client and pino, then a path that needs the left-out package.
const ENTRY = `
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Registry from 'prom-client/lib/registry.js';
import pino from 'pino';
import { handleAll, retry, ExponentialBackoff } from 'cockatiel';
const registry = new Registry();
collectDefaultMetrics({ register: registry });
pino({ level: 'warn' }, pino.destination({ dest: 1, sync: true })).warn('started');
const loaded = (name) => Object.keys(require.cache).some((f) => f.includes('/node_modules/' + name + '/'));
const atStart = { otel: loaded('@opentelemetry/api'), threadStream: loaded('thread-stream') };
const policy = retry(handleAll, { maxAttempts: 1, backoff: new ExponentialBackoff() });
let calls = 0;
await policy.execute(() => { if (calls++ === 0) throw new Error('once'); });
const exemplars = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
collectDefaultMetrics({ register: exemplars, enableExemplars: true });
const text = await exemplars.getSingleMetricAsString('process_cpu_user_seconds_total');
const otel = loaded('@opentelemetry/api');
process.stdout.write(JSON.stringify({ atStart, calls, text, otel }) + '\\n');
`;

describe('BUNDLE_OPTIONS (scripts/build.ts)', () => {
  let bundle = '';
  let run: {
    atStart: { otel: boolean; threadStream: boolean };
    calls: number;
    text: string;
    otel: boolean;
  };
  beforeAll(async () => {
    await mkdir(out, { recursive: true });
    await build({
      ...BUNDLE_OPTIONS,
      stdin: { contents: ENTRY, resolveDir: root, loader: 'js' },
      outfile: file,
    });
    bundle = await readFile(file, 'utf8');
    const { stdout } = await promisify(execFile)(process.execPath, [file]);
    run = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}');
  });
  afterAll(() => rm(out, { recursive: true, force: true }));

  it('leaves out what prom-client and pino require at load but never use here (lazy requires)', () => {
    // Neither package's code is in the bundle (their own strings), only a require() of each, and neither
    // is loaded when the bundle starts. (Compared as booleans: a failure must not print the bundle.)
    const { otel, threadStream } = run.atStart;
    expect({
      otelCode: bundle.includes('opentelemetry.js.api.'),
      otelRequired: /\("@opentelemetry\/api"\)/.test(bundle),
      threadStreamCode: bundle.includes('the worker has exited'),
      threadStreamRequired: /\("thread-stream"\)/.test(bundle),
      otel,
      threadStream,
    }).toEqual({
      otelCode: false,
      otelRequired: true,
      threadStreamCode: false,
      threadStreamRequired: true,
      otel: false,
      threadStream: false,
    });
  });

  it('loads a left-out package on first use and forwards to it (exemplars read the OpenTelemetry API)', () => {
    expect(run.otel).toBe(true);
    expect(run.text).toMatch(/^process_cpu_user_seconds_total_total [\d.e-]+ # \{\} /m); // with an exemplar
  });

  it("bundles cockatiel's ES module build: only the policies used", () => {
    expect(run.calls).toBe(2);
    expect(bundle.includes('Bulkhead capacity exceeded')).toBe(false);
  });
});
