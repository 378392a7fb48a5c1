import { describe, expect, it } from 'vitest';
import { isThrough, START_CURSOR } from './cursor.ts';

const at = (createdAt: string, id: string) => ({ createdAt, id });
const cursor = at('2026-11-30T12:00:00.000Z', '6745f0c2a1b2c3d4e5f60718');

describe('isThrough: a notification at or before the cursor (its live signal is dropped)', () => {
  it.each([
    ['the cursor notification itself', at(cursor.createdAt, cursor.id), true],
    ['an earlier one', at('2026-11-30T11:59:59.999Z', 'ffffffffffffffffffffffff'), true],
    ['same instant, smaller id', at(cursor.createdAt, '6745f0c2a1b2c3d4e5f60717'), true],
    ['same instant, larger id', at(cursor.createdAt, '6745f0c2a1b2c3d4e5f60719'), false],
    ['a later one', at('2026-11-30T12:00:00.001Z', '000000000000000000000001'), false],
  ])('%s', (_name, view, through) => {
    expect(isThrough(cursor, view)).toBe(through);
  });

  it('nothing is at or before the start cursor (an inbox that was empty)', () => {
    expect(isThrough(START_CURSOR, at('1970-01-01T00:00:00.000Z', '000000000000000000000000'))).toBe(false);
  });
});
