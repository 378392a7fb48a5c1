import { describe, expect, it } from 'vitest';
import { ValidationFailed } from '../errors.ts';
import { parseQuery } from './query.ts';

describe('parseQuery', () => {
  const same: string[] = [
    '?q=frieren&page=2',
    '?q=%E9%80%B2%E6%92%83&genre=a+b',
    '?q=100%&x=%zz&y=%2',
    '?a&b=&=c&&d=1&d=2',
    '?q=進撃の巨人',
    '?emoji=%F0%9F%98%80',
  ];
  it.each(same)('%s decodes as URLSearchParams does', (search) => {
    expect(parseQuery(search)).toEqual(Object.fromEntries(new URLSearchParams(search)));
  });

  it('has 6 cases agreeing with URLSearchParams (the table cannot shrink silently)', () => {
    expect(same).toHaveLength(6);
  });

  it.each(['?q=%FF%FE', '?q=%C0%AF', '?%FF=1', '?q=ok&page=%ED%A0%80'])(
    '%s (not UTF-8) is a ValidationFailed',
    (search) => {
      expect(() => parseQuery(search)).toThrow(ValidationFailed);
    },
  );
});
