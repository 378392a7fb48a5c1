import Type from 'typebox';
import { Compile } from 'typebox/compile';

/**
 * A link people follow from a page: an absolute `http://` or `https://` URL (RFC 3986, scheme in lower
 * case), at most 500 characters. `format: 'uri'` alone admits every scheme, so `javascript:alert(1)`,
 * `data:text/html,…` or `vbscript:…` would reach any client that renders the link as `<a href>` and run
 * there: the one rule for every user-supplied URL (a request naming another is 400, `/body/…/url`).
 * @example check(WebUrl, 'https://irc.example.org/moonlight') // ok; 'javascript:alert(1)' → must match pattern
 */
export const WebUrl = Type.String({
  format: 'uri',
  pattern: '^https?://',
  maxLength: 500,
  description:
    'An absolute http:// or https:// URL (lower-case scheme); any other scheme (javascript:, data:, vbscript:, …) is refused',
});

const webUrl = Compile(WebUrl);

/** Whether `value` is a WebUrl: for values stored before the rule, which are left out of answers. */
export function isWebUrl(value: unknown): value is string {
  return webUrl.Check(value);
}
