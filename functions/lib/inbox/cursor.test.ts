import { describe, expect, it } from 'vitest';
import { type Cursor, isThrough, type Placed, START_CURSOR } from './cursor.ts';

const at = (createdAt: string, id: string, seq?: number, late?: number): Placed => ({
  createdAt,
  id,
  ...(seq === undefined ? {} : { seq }),
  ...(late === undefined ? {} : { late }),
});
const T = '2026-11-30T12:00:00.000Z';
const BEFORE = '2026-11-30T11:59:59.999Z';
const AFTER = '2026-11-30T12:00:00.001Z';
const ID = '6745f0c2a1b2c3d4e5f60718';

describe('isThrough, a cursor from before the sequence (no seq): the (createdAt, id) order', () => {
  const cursor: Cursor = { id: ID, seq: 0, createdAt: T };
  it.each([
    ['the cursor notification itself', at(T, ID), true],
    ['an earlier one', at(BEFORE, 'ffffffffffffffffffffffff'), true],
    ['same instant, smaller id', at(T, '6745f0c2a1b2c3d4e5f60717'), true],
    ['same instant, larger id', at(T, '6745f0c2a1b2c3d4e5f60719'), false],
    ['a later one', at(AFTER, '000000000000000000000001'), false],
    [
      'any sequenced one, even stamped earlier (written after the cursor was handed out)',
      at(BEFORE, ID, 1),
      false,
    ],
  ])('%s', (_name, n, through) => {
    expect(isThrough(cursor, n)).toBe(through);
  });
});

describe('isThrough, a sequenced cursor: the order notifications became visible, then (createdAt, id)', () => {
  const cursor: Cursor = { id: ID, seq: 7, createdAt: T };
  it.each([
    ['the cursor notification itself', at(T, ID, 7), true],
    ['committed earlier, stamped earlier', at(BEFORE, 'ffffffffffffffffffffffff', 6), true],
    [
      'committed later though stamped earlier (the race: it became visible after the cursor)',
      at(BEFORE, ID, 8),
      false,
    ],
    ['committed earlier though stamped later', at(AFTER, ID, 6), true],
    ['same insert, smaller id', at(T, '6745f0c2a1b2c3d4e5f60717', 7), true],
    ['same insert, larger id', at(T, '6745f0c2a1b2c3d4e5f60719', 7), false],
    ['from before the sequence, stamped after the cursor', at(AFTER, ID), true],
    ['from before the sequence', at(BEFORE, ID), true],
    ['re-sequenced late past the cursor (its writer was passed over)', at(BEFORE, ID, 5, 9), false],
    ['re-sequenced late but still at or before the cursor', at(BEFORE, ID, 5, 7), true],
  ])('%s', (_name, n, through) => {
    expect(isThrough(cursor, n)).toBe(through);
  });
});

it('nothing is at or before the start cursor (an inbox that was empty)', () => {
  expect(isThrough(START_CURSOR, at('1970-01-01T00:00:00.000Z', '000000000000000000000000'))).toBe(false);
  expect(isThrough(START_CURSOR, at(T, ID, 1))).toBe(false);
});
