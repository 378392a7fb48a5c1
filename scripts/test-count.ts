/**
 * The test count cannot shrink silently. `npm test` leaves its counts in .tmp/test-summary.json (the plain
 * summary reporter); `.ci/test-count` holds the passing tests of the last recorded full run.
 *
 *   node scripts/test-count.ts check    # after `npm test` in CI: fails when fewer tests passed than
 *                                       # recorded, unless the latest commit has a `Tests-Removed:` trailer
 *   node scripts/test-count.ts record   # after a full green run: write the new counts to .ci/test-count
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const RECORD = resolve(ROOT, '.ci/test-count');
const SUMMARY = resolve(ROOT, '.tmp/test-summary.json');

export interface Counts {
  readonly passed: number;
  readonly failed: number;
  readonly skipped: number;
}
export interface Summary extends Counts {
  readonly projects: Record<string, Counts>;
}
/** Passing tests in all and per project, as `.ci/test-count` records them. */
export interface Recorded {
  readonly total: number;
  readonly projects: Record<string, number>;
}

/** Parse `.ci/test-count`: `# comments`, then `total N` and one `<project> N` line per project. */
export function parseRecord(text: string): Recorded {
  let total: number | undefined;
  const projects: Record<string, number> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(\S+)\s+(\d+)$/.exec(line);
    if (!match) throw new Error(`.ci/test-count: cannot read "${line}" (expected "<name> <count>")`);
    const [, name, count] = match as unknown as [string, string, string];
    if (name === 'total') total = Number(count);
    else projects[name] = Number(count);
  }
  if (total === undefined) throw new Error('.ci/test-count: no "total N" line');
  return { total, projects };
}

export function formatRecord(summary: Summary): string {
  const names = Object.keys(summary.projects).sort();
  return [
    '# Passing tests of the last full `npm test`, written by `node scripts/test-count.ts record`.',
    '# `.ci/run` fails when a run passes fewer, unless the latest commit message has a',
    '# `Tests-Removed: <why>` trailer. Record again after adding tests, or after removing them on purpose.',
    `total ${summary.passed}`,
    ...names.map((n) => `${n} ${summary.projects[n]?.passed ?? 0}`),
    '',
  ].join('\n');
}

/** The `Tests-Removed:` trailer of a commit message, if any (its text says why). */
export function removalNote(message: string): string | undefined {
  return /^Tests-Removed:[ \t]*(\S.*)$/im.exec(message)?.[1]?.trim();
}

export interface Verdict {
  readonly ok: boolean;
  readonly lines: string[];
}

/** Compare a run with the record: fewer passing tests (in all, or a project missing) needs a note. */
export function judge(recorded: Recorded, summary: Summary, commitMessage: string): Verdict {
  const lines: string[] = [];
  const missing = Object.keys(recorded.projects).filter((p) => !(p in summary.projects));
  for (const name of Object.keys({ ...recorded.projects, ...summary.projects }).sort()) {
    const was = recorded.projects[name];
    const now = summary.projects[name]?.passed;
    lines.push(`  ${name}: ${now ?? 'not run'} passed (recorded ${was ?? 'none'})`);
  }
  lines.push(`  total: ${summary.passed} passed (recorded ${recorded.total})`);
  const dropped = summary.passed < recorded.total || missing.length > 0;
  if (!dropped) {
    if (summary.passed > recorded.total)
      lines.push('test count grew: run `node scripts/test-count.ts record` and commit .ci/test-count');
    return { ok: true, lines };
  }
  const note = removalNote(commitMessage);
  if (note) {
    lines.push(`fewer tests than recorded, explained by the latest commit: Tests-Removed: ${note}`);
    return { ok: true, lines };
  }
  lines.push(
    missing.length > 0
      ? `project(s) ${missing.join(', ')} did not run: the count check needs a full \`npm test\``
      : `${recorded.total - summary.passed} fewer passing tests than recorded in .ci/test-count`,
    'If tests were removed on purpose, say why in the commit message with a `Tests-Removed: <why>` trailer',
    'and record the new count (`node scripts/test-count.ts record`).',
  );
  return { ok: false, lines };
}

function readSummary(): Summary {
  const summary = JSON.parse(readFileSync(SUMMARY, 'utf8')) as Summary;
  const age = Date.now() - statSync(SUMMARY).mtimeMs;
  if (age > 6 * 3600_000)
    throw new Error(`${SUMMARY} is ${Math.round(age / 3600_000)} h old: run npm test first`);
  return summary;
}

function main(command: string | undefined): number {
  const summary = readSummary();
  if (command === 'record') {
    if (summary.failed > 0) {
      process.stderr.write(`test-count: the last run had ${summary.failed} failures; not recording it\n`);
      return 1;
    }
    writeFileSync(RECORD, formatRecord(summary));
    process.stdout.write(`test-count: recorded ${summary.passed} passing tests in .ci/test-count\n`);
    return 0;
  }
  if (command !== undefined && command !== 'check') {
    process.stderr.write('usage: node scripts/test-count.ts [check|record]\n');
    return 2;
  }
  const message = execFileSync('git', ['log', '-1', '--format=%B'], { cwd: ROOT, encoding: 'utf8' });
  const verdict = judge(parseRecord(readFileSync(RECORD, 'utf8')), summary, message);
  process.stdout.write(`== test count\n${verdict.lines.join('\n')}\n`);
  return verdict.ok ? 0 : 1;
}

if (import.meta.main) process.exitCode = main(process.argv[2]);
