import { ValidationFailed } from '../errors.ts';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** One `application/x-www-form-urlencoded` component: `+` is a space, `%XX` a byte, the bytes UTF-8. */
function decodeComponent(raw: string, name: string): string {
  if (!raw.includes('%')) return raw.replaceAll('+', ' ');
  const text = raw.replaceAll('+', ' ');
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) bytes.push(c);
    else {
      // A non-ASCII character sent raw (nginx passes it percent-encoded, but a direct caller may not).
      const end = c >= 0xd800 && c <= 0xdbff ? i + 2 : i + 1;
      bytes.push(...encoder.encode(text.slice(i, end)));
      i = end - 1;
    }
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    throw new ValidationFailed(`the query parameter ${name} is not valid UTF-8 once percent-decoded`);
  }
}

/**
 * The query string (`?a=1&b=%E9%80%B2`) as an object, decoded as the URL Standard's
 * application/x-www-form-urlencoded parser does (`+` → space, `%XX` → byte, a malformed escape kept as
 * written, the last of repeated names wins), except that bytes which are not UTF-8 (`q=%FF%FE`) are a
 * ValidationFailed (400) instead of U+FFFD replacement characters: a search for garbage is bad input,
 * not an empty result. Source: https://url.spec.whatwg.org/#urlencoded-parsing.
 */
export function parseQuery(search: string): Record<string, string> {
  const out: Record<string, string> = {};
  const body = search.startsWith('?') ? search.slice(1) : search;
  for (const pair of body.split('&')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const rawName = eq === -1 ? pair : pair.slice(0, eq);
    const rawValue = eq === -1 ? '' : pair.slice(eq + 1);
    const name = decodeComponent(rawName, 'name');
    out[name] = decodeComponent(rawValue, JSON.stringify(name));
  }
  return out;
}
