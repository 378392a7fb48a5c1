import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/** Where every run leaves its counts for `scripts/test-count.ts` (`.tmp/` is not committed). */
export const SUMMARY_FILE = resolve(import.meta.dirname, '../../.tmp/test-summary.json');

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

/** What a run leaves in SUMMARY_FILE. */
export interface Summary extends Counts {
  /** Per Vitest project (unit, integration, e2e, …). */
  projects: Record<string, Counts>;
  finishedAt: string;
}

const line = (c: Counts) => `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;

/**
 * Ends every run with one line per project and one plain line CI can count: `N passed, N failed,
 * N skipped`, and writes the same counts to SUMMARY_FILE. Unhandled errors and failed modules (a file
 * that could not even load) count as failures, so a run that executed nothing or crashed is visible.
 */
export default class PlainSummaryReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[], unhandledErrors: readonly unknown[]): void {
    const total: Counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    const projects: Record<string, Counts> = {};
    for (const module of testModules) {
      const name = module.project.name || 'default';
      projects[name] ??= { passed: 0, failed: 0, skipped: 0 };
      const here = projects[name];
      let failedHere = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') here.passed += 1;
        else if (state === 'failed') failedHere += 1;
        else here.skipped += 1;
      }
      // A file whose setup failed (beforeAll, import) fails even when none of its tests ran.
      if (module.state() === 'failed' && failedHere === 0) failedHere = 1;
      here.failed += failedHere;
    }
    const names = Object.keys(projects).sort();
    for (const name of names) {
      const c = projects[name] as Counts;
      total.passed += c.passed;
      total.failed += c.failed;
      total.skipped += c.skipped;
    }
    const width = Math.max(0, ...names.map((n) => n.length));
    const perProject = names.map((n) => `  ${n.padEnd(width)}  ${line(projects[n] as Counts)}\n`).join('');
    process.stdout.write(`\n${perProject}\n${line(total)}\n`);
    const summary: Summary = { ...total, projects, finishedAt: new Date().toISOString() };
    try {
      mkdirSync(dirname(SUMMARY_FILE), { recursive: true });
      writeFileSync(SUMMARY_FILE, `${JSON.stringify(summary, null, 2)}\n`);
    } catch (error) {
      process.stderr.write(`[reporter] could not write ${SUMMARY_FILE}: ${error}\n`);
    }
  }
}
