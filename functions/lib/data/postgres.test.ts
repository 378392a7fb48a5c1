import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { Conflict } from '../errors.ts';
import { isPostgresFault } from './postgres.ts';

const dbError = (code: string) => Object.assign(new pg.DatabaseError('x', 1, 'error'), { code });

describe('isPostgresFault', () => {
  it.each([
    ['a unique violation (an answer)', dbError('23505'), false],
    ['a check violation (an answer)', dbError('23514'), false],
    ['invalid input (an answer)', dbError('22P02'), false],
    ['an admin shutdown (a fault)', dbError('57P01'), true],
    ['too many connections (a fault)', dbError('53300'), true],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), true],
    ['a dropped connection', new Error('Connection terminated unexpectedly'), true],
    ['a pool timeout', new Error('timeout exceeded when trying to connect'), true],
    ["the caller's own error", new Error('abort'), false],
    ['our own error', new Conflict('taken'), false],
    ['a bug', new TypeError('x is undefined'), false],
  ])('%s', (_name, error, fault) => {
    expect(isPostgresFault(error)).toBe(fault);
  });
});
