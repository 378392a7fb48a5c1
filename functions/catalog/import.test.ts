import { describe, expect, it } from 'vitest';
import { hashQuery } from '../lib/tracking/catalog-cache.ts';
import { parseDataset, toRecord } from './import.ts';

const plain = {
  sources: ['https://anidb.net/anime/1', 'https://myanimelist.net/anime/30'],
  title: 'Shinseiki Evangelion',
  type: 'TV',
  episodes: 26,
  status: 'FINISHED',
  animeSeason: { season: 'FALL', year: 1995 },
  picture: 'https://cdn.example/eva.jpg',
  synonyms: ['NGE'],
  tags: ['mecha', 'drama', 'sci-fi'],
};

describe('dataset import', () => {
  it('reads the plain anime-offline-database shape: MAL id from sources, genres from tags', () => {
    expect(toRecord(plain)).toMatchObject({
      malId: 30,
      type: 'tv',
      season: 'fall',
      genres: ['Drama', 'Sci-Fi'],
      episodes: 26,
    });
  });

  it('maps unknowns: 0 episodes → null, UNDEFINED season → null, odd type → unknown', () => {
    const record = toRecord({
      ...plain,
      episodes: 0,
      type: 'MUSIC',
      animeSeason: { season: 'UNDEFINED', year: null },
    });
    expect(record).toMatchObject({ episodes: null, type: 'unknown', season: null, year: null });
  });

  it('hashes content so an unchanged record is recognised', () => {
    expect(toRecord(plain).hash).toBe(toRecord({ ...plain, sources: [...plain.sources].reverse() }).hash);
    expect(toRecord(plain).hash).not.toBe(toRecord({ ...plain, episodes: 27 }).hash);
  });

  it('reports unreadable records and keeps the rest', () => {
    const { records, rejected } = parseDataset(JSON.stringify({ data: [plain, { title: 'no sources' }] }));
    expect(records).toHaveLength(1);
    expect(rejected).toEqual([{ index: 1, title: 'no sources', reason: expect.any(String) }]);
  });

  it.each([
    ['not json', '{'],
    ['no data array', '{"items": []}'],
  ])('refuses %s', (_name, text) => {
    expect(() => parseDataset(text)).toThrowError(expect.objectContaining({ code: 'validation_failed' }));
  });
});

describe('list cache keys', () => {
  it('ignore parameter order and undefined values', () => {
    expect(hashQuery({ a: 1, b: 'x', c: undefined })).toBe(hashQuery({ b: 'x', a: 1 }));
    expect(hashQuery({ a: 1 })).not.toBe(hashQuery({ a: 2 }));
  });
});
