import { describe, expect, it } from 'vitest';
import {
  CSRF_FIELD,
  csrfMatches,
  isCrossSiteFormPost,
  needsCsrf,
  refusedFormPage,
  sentCsrf,
} from './csrf.ts';
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

describe("the origin check (Astro's checkOrigin rule, run by our middleware)", () => {
  const url = new URL('https://isekai.localhost/anime/1');
  const req = (method: string, headers: Record<string, string>) =>
    // A string body would add its own content type: only requests that name one carry a body.
    new Request(url, { method, headers, body: headers['content-type'] ? 'a=1' : undefined });
  it.each([
    [
      'a form post from another origin',
      'POST',
      { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      true,
    ],
    ['a multipart post without Origin', 'POST', { 'content-type': 'multipart/form-data; boundary=x' }, true],
    [
      'a text/plain PUT from another origin',
      'PUT',
      { origin: 'https://evil.example', 'content-type': 'text/plain' },
      true,
    ],
    ['a post with no content type from another origin', 'DELETE', { origin: 'https://evil.example' }, true],
    [
      'a same-origin form post',
      'POST',
      { origin: 'https://isekai.localhost', 'content-type': 'application/x-www-form-urlencoded' },
      false,
    ],
    [
      'a JSON post from another origin (not a form: CORS preflights it)',
      'POST',
      { origin: 'https://evil.example', 'content-type': 'application/json' },
      false,
    ],
    ['a GET from anywhere', 'GET', { origin: 'https://evil.example' }, false],
  ])('%s → %s', (_name, method, headers, refused) => {
    expect(isCrossSiteFormPost(req(method, headers), url)).toBe(refused);
  });

  it('leads back to the page the form came from (Referer on this origin), else to its address', () => {
    const form = new URL('https://isekai.localhost/anime/1?from=yours');
    const from = (referer?: string) =>
      refusedFormPage(new Request(form, { method: 'POST', headers: referer ? { referer } : {} }), form);
    expect(from('https://isekai.localhost/anime/1#mine')).toBe('/anime/1');
    expect(from('https://evil.example/anime/2')).toBe('/anime/1?from=yours');
    expect(from()).toBe('/anime/1?from=yours');
  });
});
