import type { TSchema } from 'typebox';
import { describe, expect, it } from 'vitest';
import { type FieldIssue, ValidationFailed } from '../functions/lib/errors.ts';
import { RatingInput } from '../functions/lib/tracking/rating-schemas.ts';
import { check, convertAndCheck } from '../functions/lib/validate.ts';
import { EntryInput, ExportQuery, STATUSES } from '../functions/library/schemas.ts';
import { DownloadQuery } from '../functions/subtitles/download.ts';
import { ReportInput } from '../functions/subtitles/moderation.ts';

function issuesOf(work: () => unknown): readonly FieldIssue[] {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(ValidationFailed);
    return (error as ValidationFailed).issues;
  }
  throw new Error('expected a validation failure');
}

describe('validation issues name the field once and list the allowed values', () => {
  it.each<[string, TSchema, unknown, string, readonly unknown[]]>([
    ['a list status', EntryInput, { status: 'binging' }, '/body/status', STATUSES],
    [
      'a report reason',
      ReportInput,
      { reason: 'boring' },
      '/body/reason',
      ['wrong_anime', 'wrong_episode', 'out_of_sync', 'bad_quality', 'spam', 'copyright', 'other'],
    ],
  ])('%s', (_name, schema, body, field, allowed) => {
    const issues = issuesOf(() => check(schema, body, '/body'));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ field, allowed: [...allowed] });
    expect(issues[0]?.message).toContain(allowed.join(', '));
    expect(issues[0]?.message).not.toMatch(/constant/);
  });

  it.each<[string, TSchema, Record<string, string>, string, readonly unknown[]]>([
    ['a download format', DownloadQuery, { format: 'docx' }, '/query/format', ['srt', 'vtt', 'ass']],
    ['an export format', ExportQuery, { format: 'xlsx' }, '/query/format', ['mal', 'json', 'csv']],
  ])('%s in a query', (_name, schema, query, field, allowed) => {
    const issues = issuesOf(() => convertAndCheck(schema, query, '/query'));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.field).toBe(field);
    expect(issues[0]?.allowed).toEqual(expect.arrayContaining([...allowed]));
  });

  it('a nullable score out of range is one issue for the field', () => {
    const issues = issuesOf(() => check(RatingInput, { score: 5, aspects: { music: 11 } }, '/body'));
    expect(issues.map((i) => i.field)).toEqual(['/body/aspects/music']);
    expect(issues[0]?.message).toMatch(/<= 10.*null/);
  });

  it('names each unknown field once', () => {
    const issues = issuesOf(() => check(RatingInput, { score: 5, stars: 3, mood: 'x' }, '/body'));
    expect(issues).toEqual([
      { field: '/body/stars', message: 'is not an allowed field' },
      { field: '/body/mood', message: 'is not an allowed field' },
    ]);
  });

  it('names each missing property as its own field', () => {
    const issues = issuesOf(() => check(RatingInput, {}, '/body'));
    expect(issues.map((i) => i.field)).toEqual(['/body/score']);
  });
});

describe('query flags', () => {
  it.each([
    ['a bare flag', { gzip: '' }, true],
    ['true', { gzip: 'true' }, true],
    ['false', { gzip: 'false' }, false],
    ['absent', {}, false],
  ])('gzip as %s', (_name, query, gzip) => {
    expect(convertAndCheck<ExportQuery>(ExportQuery, query, '/query').gzip).toBe(gzip);
  });
});
