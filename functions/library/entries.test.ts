import { describe, expect, it } from 'vitest';
import type { Entry } from './entries.ts';
import { nextEntry } from './entries.ts';

const entry = (over: Partial<Entry> = {}): Entry => ({
  animeId: 1,
  status: 'watching',
  progress: 5,
  rewatchCount: 0,
  startedOn: '2024-01-01',
  finishedOn: null,
  notes: null,
  tags: [],
  priority: 0,
  private: false,
  favourite: false,
  createdAt: '',
  updatedAt: '',
  ...over,
});

describe('list rules', () => {
  it.each([
    ['a new entry defaults to plan to watch', undefined, {}, 12, { status: 'plan_to_watch', progress: 0 }],
    ['completing fills progress', entry(), { status: 'completed' as const }, 12, { progress: 12 }],
    [
      'completing with unknown episodes keeps progress',
      entry(),
      { status: 'completed' as const },
      null,
      { progress: 5 },
    ],
    [
      'starting a rewatch resets progress',
      entry({ status: 'completed', progress: 12 }),
      { status: 'rewatching' as const },
      12,
      { progress: 0, rewatchCount: 0 },
    ],
    [
      'finishing a rewatch counts it',
      entry({ status: 'rewatching', progress: 3, rewatchCount: 1 }),
      { status: 'completed' as const },
      12,
      { rewatchCount: 2 },
    ],
    ['an explicit null clears a date', entry(), { startedOn: null }, 12, { startedOn: null }],
    [
      'a progress increase starts a planned entry',
      entry({ status: 'plan_to_watch', progress: 0, startedOn: null }),
      { progress: 1 },
      12,
      { status: 'watching', progress: 1 },
    ],
    [
      'an explicit status wins over the progress rule',
      entry({ status: 'plan_to_watch', progress: 0, startedOn: null }),
      { status: 'plan_to_watch' as const, progress: 1 },
      12,
      { status: 'plan_to_watch', startedOn: null },
    ],
  ])('%s', (_name, before, input, episodes, expected) => {
    expect(nextEntry(before, input, episodes)).toMatchObject(expected);
  });

  it.each([
    ['from watching', entry()],
    ['ending a rewatch of an entry without dates', entry({ status: 'rewatching', startedOn: null })],
    ['sent again to a completed entry whose date is empty', entry({ status: 'completed', progress: 12 })],
  ])('completing fills an empty finish date with today (%s)', (_name, before) => {
    const today = new Date().toISOString().slice(0, 10);
    const next = nextEntry(before, { status: 'completed' }, 12);
    expect(next.finishedOn).toBe(today);
    expect(next.startedOn).toBe(before.startedOn ?? today);
  });

  it.each([
    ['a date', '2024-02-01', '2024-02-01'],
    ['null (left empty)', null, null],
  ])('completing keeps an explicit finishedOn: %s', (_name, finishedOn, expected) => {
    expect(nextEntry(entry(), { status: 'completed', finishedOn }, 12).finishedOn).toBe(expected);
  });

  it('a MAL import (automaticDates off) completes without inventing dates', () => {
    const next = nextEntry(undefined, { status: 'completed' }, 12, { automaticDates: false });
    expect(next).toMatchObject({ status: 'completed', startedOn: null, finishedOn: null });
  });

  it('a finished rewatch keeps the first watch dates', () => {
    const before = entry({ status: 'rewatching', startedOn: '2020-01-01', finishedOn: '2020-02-01' });
    expect(nextEntry(before, { status: 'completed' }, 12)).toMatchObject({
      startedOn: '2020-01-01',
      finishedOn: '2020-02-01',
    });
  });

  it.each([
    ['progress past the end', { progress: 13 }, '/body/progress'],
    ['an impossible day', { startedOn: '2023-02-29' }, '/body/startedOn'],
    ['finish before start', { finishedOn: '2023-12-31' }, '/body/finishedOn'],
  ])('refuses %s naming %s', (_name, input, field) => {
    expect(() => nextEntry(entry(), input, 12)).toThrowError(
      expect.objectContaining({ code: 'validation_failed', issues: [expect.objectContaining({ field })] }),
    );
  });

  it('imports clamp progress instead of failing', () => {
    expect(
      nextEntry(undefined, { status: 'watching', progress: 99 }, 12, { lenientProgress: true }).progress,
    ).toBe(12);
  });
});
