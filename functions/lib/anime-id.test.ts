import { describe, expect, it } from 'vitest';
import { parseAnimeId } from './anime-id.ts';

describe('parseAnimeId: the one anime-id parser', () => {
  it.each<[unknown, number | undefined]>([
    ['1', 1],
    ['2147483647', 2_147_483_647],
    [42, 42],
    ['cowboy-bebop', undefined],
    ['007', undefined],
    ['1.0', undefined],
    ['-1', undefined],
    ['0', undefined],
    ['2147483648', undefined],
    [' 1', undefined],
    [1.5, undefined],
    [0, undefined],
    [2_147_483_648, undefined],
    [undefined, undefined],
    [null, undefined],
  ])('%j → %s', (raw, id) => {
    expect(parseAnimeId(raw)).toBe(id);
  });
});
