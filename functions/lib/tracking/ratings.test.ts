import { describe, expect, it } from 'vitest';
import type { RatingPatch } from './rating-schemas.ts';
import { nextRating } from './ratings.ts';

const before = { score: 9, animation: 8, music: 9, plot: 10, characters: 10, review: 'great' };
const noAspects = { animation: null, music: null, plot: null, characters: null };

describe('PUT replaces a rating whole, PATCH merges into it', () => {
  it.each<[string, RatingPatch, 'replace' | 'merge', unknown]>([
    [
      'PUT {score} clears the review and every aspect',
      { score: 7 },
      'replace',
      { score: 7, ...noAspects, review: null },
    ],
    [
      'PUT {score, aspects: {music}} keeps only what it sends',
      { score: 7, aspects: { music: 5 } },
      'replace',
      { score: 7, ...noAspects, music: 5, review: null },
    ],
    ['PATCH {score} changes only the score', { score: 7 }, 'merge', { ...before, score: 7 }],
    ['PATCH {review: null} removes only the review', { review: null }, 'merge', { ...before, review: null }],
    [
      'PATCH {aspects: {music: null}} clears one aspect, keeps the others',
      { aspects: { music: null } },
      'merge',
      { ...before, music: null },
    ],
    ['PATCH {review: "  "} is no review', { review: '  ' }, 'merge', { ...before, review: null }],
    ['PATCH {} changes nothing', {}, 'merge', before],
  ])('%s', (_name, input, mode, expected) => {
    expect(nextRating(before, input, mode)).toEqual(expected);
  });

  it('a PATCH without a score has nothing to merge into when nothing is rated yet', () => {
    expect(nextRating(null, { review: 'x' }, 'merge')).toBeUndefined();
    expect(nextRating(null, { score: 6 }, 'merge')).toEqual({ score: 6, ...noAspects, review: null });
  });
});
