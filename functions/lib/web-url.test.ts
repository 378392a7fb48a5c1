import { describe, expect, it } from 'vitest';
import { ValidationFailed } from './errors.ts';
import { check } from './validate.ts';
import { isWebUrl, WebUrl } from './web-url.ts';

describe('WebUrl: the one rule for user-supplied links', () => {
  const cases: [string, unknown, boolean][] = [
    ['https', 'https://irc.example.org/moonlight', true],
    ['http with port, query and fragment', 'http://example.org:8080/a?b=c#d', true],
    ['javascript:', 'javascript:alert(document.cookie)', false],
    ['javascript: in capitals', 'JAVASCRIPT:alert(1)', false],
    ['javascript: with a // comment', 'javascript://example.org/%0Aalert(1)', false],
    ['data: HTML', 'data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==', false],
    ['vbscript:', 'vbscript:msgbox(1)', false],
    ['file:', 'file:///etc/passwd', false],
    ['ftp:', 'ftp://example.org/', false],
    ['a scheme-relative URL', '//evil.example/', false],
    ['a relative path', '/groups/x', false],
    ['leading white space', ' https://example.org/', false],
    ['https without //', 'https:example.org', false],
    ['an https URL over 500 characters', `https://example.org/${'a'.repeat(481)}`, false],
    ['not a string', 42, false],
  ];
  expect(cases, 'both sides of the rule').toHaveLength(15);

  it.each(cases)('%s → allowed: %s', (_name, value, allowed) => {
    expect(isWebUrl(value)).toBe(allowed);
    const outcome = (() => {
      try {
        check(WebUrl, value, '/body/url');
        return 'ok';
      } catch (error) {
        return (error as ValidationFailed).code;
      }
    })();
    expect(outcome).toBe(allowed ? 'ok' : 'validation_failed');
  });

  it('names the field and the rule when it refuses', () => {
    const error = (() => {
      try {
        return check(WebUrl, 'javascript:alert(1)', '/body/links/0/url');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ValidationFailed);
    expect((error as ValidationFailed).issues).toEqual([
      { field: '/body/links/0/url', message: 'must match pattern "^https?://"' },
    ]);
  });
});
