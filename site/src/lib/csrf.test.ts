import { describe, expect, it } from 'vitest';
import { CSRF_FIELD, csrfMatches, needsCsrf, sentCsrf } from './csrf.ts';
import { safeReturnTo } from './return-to.ts';

describe('CSRF token', () => {
  it.each([
    ['GET', false],
    ['HEAD', false],
    ['POST', true],
    ['PUT', true],
    ['DELETE', true],
  ])('%s needs a token: %s', (method, needed) => {
    expect(needsCsrf(method)).toBe(needed);
  });

  it.each([
    ['the same token', 'tok-123', 'tok-123', true],
    ['another token', 'tok-123', 'tok-124', false],
    ['a prefix', 'tok-123', 'tok-12', false],
    ['no token sent', 'tok-123', undefined, false],
    ['no session token', undefined, 'tok-123', false],
  ])('matches %s: %s', (_name, expected, sent, result) => {
    expect(csrfMatches(expected, sent)).toBe(result);
  });

  it('reads the token from a url-encoded form, leaving the body for the handler', async () => {
    const req = new Request('https://isekai.localhost/x', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `${CSRF_FIELD}=abc&score=9`,
    });
    expect(await sentCsrf(req)).toBe('abc');
    expect((await req.formData()).get('score')).toBe('9');
  });

  it('reads the token from a multipart form (the import upload) and from the header', async () => {
    const form = new FormData();
    form.set(CSRF_FIELD, 'multi');
    form.set('file', new Blob(['<myanimelist/>']), 'list.xml');
    expect(await sentCsrf(new Request('https://isekai.localhost/x', { method: 'POST', body: form }))).toBe(
      'multi',
    );
    const header = new Request('https://isekai.localhost/x', {
      method: 'POST',
      headers: { 'x-csrf-token': 'h' },
    });
    expect(await sentCsrf(header)).toBe('h');
  });

  it('a JSON or plain-text body carries no form token', async () => {
    const req = new Request('https://isekai.localhost/x', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ _csrf: 'abc' }),
    });
    expect(await sentCsrf(req)).toBeUndefined();
  });
});

describe('returnTo after sign-in', () => {
  it.each([
    ['/anime/200', '/anime/200'],
    ['/search?q=frieren&page=2', '/search?q=frieren&page=2'],
    ['https://evil.example/', '/'],
    ['//evil.example/', '/'],
    ['/\\evil.example', '/'],
    ['/%0d%0aSet-Cookie:x', '/%0d%0aSet-Cookie:x'],
    ['/\tevil', '/'],
    ['javascript:alert(1)', '/'],
    ['/auth/login?returnTo=/x', '/'],
    [null, '/'],
  ])('%s → %s', (raw, expected) => {
    expect(safeReturnTo(raw)).toBe(expected);
  });
});
