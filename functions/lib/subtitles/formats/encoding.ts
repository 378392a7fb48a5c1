import chardet from 'chardet';
import iconv from 'iconv-lite';
import { UnsupportedMediaType } from '../../errors.ts';

/** The text of an uploaded file and the encoding it arrived in. */
export interface DecodedText {
  /** UTF-8 text without a BOM, line endings normalised to `\n`, padding after the end dropped. */
  readonly text: string;
  /** The encoding detected: `UTF-8`, `UTF-16LE`, `Shift_JIS`, `windows-1250`… */
  readonly encoding: string;
  /** What was dropped on the way (NUL padding after the last cue): reported, not fatal. */
  readonly warnings: string[];
}

const BOMS: readonly { bytes: number[]; encoding: string }[] = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'UTF-8' },
  { bytes: [0xff, 0xfe], encoding: 'UTF-16LE' },
  { bytes: [0xfe, 0xff], encoding: 'UTF-16BE' },
];

/**
 * The legacy code pages of a language (primary subtag; a script subtag where it decides), tried before
 * a generic detector: short files of Central European or Cyrillic text are where detectors guess wrong.
 */
const CODE_PAGES: Readonly<Record<string, readonly string[]>> = {
  pl: ['windows-1250', 'ISO-8859-2'],
  cs: ['windows-1250', 'ISO-8859-2'],
  sk: ['windows-1250', 'ISO-8859-2'],
  hu: ['windows-1250', 'ISO-8859-2'],
  sl: ['windows-1250', 'ISO-8859-2'],
  hr: ['windows-1250', 'ISO-8859-2'],
  bs: ['windows-1250', 'ISO-8859-2'],
  ro: ['windows-1250', 'ISO-8859-16'],
  sq: ['windows-1250'],
  ru: ['windows-1251', 'KOI8-R'],
  uk: ['windows-1251', 'KOI8-U'],
  be: ['windows-1251'],
  bg: ['windows-1251'],
  mk: ['windows-1251'],
  sr: ['windows-1251', 'windows-1250'],
  'sr-latn': ['windows-1250'],
  el: ['windows-1253', 'ISO-8859-7'],
  tr: ['windows-1254', 'ISO-8859-9'],
  he: ['windows-1255', 'ISO-8859-8'],
  ar: ['windows-1256'],
  fa: ['windows-1256'],
  lt: ['windows-1257'],
  lv: ['windows-1257'],
  et: ['windows-1257'],
  vi: ['windows-1258'],
  th: ['windows-874'],
  ja: ['Shift_JIS', 'EUC-JP'],
  ko: ['EUC-KR'],
  zh: ['GB18030', 'Big5'],
  'zh-hant': ['Big5', 'GB18030'],
  'zh-tw': ['Big5', 'GB18030'],
  'zh-hk': ['Big5', 'GB18030'],
};
for (const lang of [
  'en',
  'fr',
  'de',
  'es',
  'it',
  'pt',
  'nl',
  'da',
  'sv',
  'nb',
  'no',
  'fi',
  'is',
  'ca',
  'id',
  'ms',
])
  (CODE_PAGES as Record<string, readonly string[]>)[lang] = ['windows-1252'];

/** The code pages to try for a BCP 47 tag, most specific first. */
export function codePagesOf(language: string | undefined): readonly string[] {
  const parts = (language ?? '').toLowerCase().split('-');
  const two = parts.slice(0, 2).join('-');
  return CODE_PAGES[two] ?? CODE_PAGES[parts[0] ?? ''] ?? [];
}

const notText = (message = 'must be a text subtitle file (SRT, WebVTT, ASS/SSA)') =>
  new UnsupportedMediaType('the file is not text in an encoding we can read', {
    issues: [{ field: '/body/file', message }],
  });

/** The length of the bytes without a trailing run of NUL padding (whole UTF-16 units kept). */
function withoutPadding(bytes: Uint8Array): number {
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end;
}

/**
 * UTF-16 without a BOM, from the NUL pattern: text that is mostly ASCII (timing lines always are) has a
 * NUL in every other byte — the odd ones in little-endian, the even ones in big-endian.
 */
export function sniffUtf16(bytes: Uint8Array): 'UTF-16LE' | 'UTF-16BE' | undefined {
  const n = Math.min(withoutPadding(bytes), 8192) & ~1;
  if (n < 8) return undefined;
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (bytes[i] === 0) even++;
    if (bytes[i + 1] === 0) odd++;
  }
  const pairs = n / 2;
  if (odd > pairs * 0.3 && even < pairs * 0.02) return 'UTF-16LE';
  if (even > pairs * 0.3 && odd < pairs * 0.02) return 'UTF-16BE';
  return undefined;
}

/** U+FFFD (a byte the encoding lacks) or a C1 control (a code page's unused slot): text decoded wrongly. */
const GARBLED = /[\uFFFD\u0080-\u009F]/;
const decodes = (bytes: Uint8Array, encoding: string) =>
  !GARBLED.test(iconv.decode(Buffer.from(bytes), encoding));

/**
 * Which encoding the bytes are in: a BOM; else UTF-16 by its NUL pattern; else strict UTF-8; else the
 * language's code pages (the first that decodes cleanly, chardet breaking ties between them); else
 * chardet's best guess.
 */
export function detectEncoding(
  bytes: Uint8Array,
  language?: string,
): { encoding: string; bomLength: number } {
  for (const bom of BOMS) {
    if (bom.bytes.every((b, i) => bytes[i] === b))
      return { encoding: bom.encoding, bomLength: bom.bytes.length };
  }
  const utf16 = sniffUtf16(bytes);
  if (utf16) return { encoding: utf16, bomLength: 0 };
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { encoding: 'UTF-8', bomLength: 0 };
  } catch {
    const candidates = codePagesOf(language).filter((e) => decodes(bytes, e));
    if (candidates.length > 0) {
      const ranked = chardet.analyse(bytes).map((m) => m.name.toLowerCase());
      const best = candidates
        .map((e) => ({ e, rank: ranked.indexOf(e.toLowerCase()) }))
        .filter((c) => c.rank >= 0)
        .sort((a, b) => a.rank - b.rank)[0];
      return { encoding: best?.e ?? candidates[0] ?? 'UTF-8', bomLength: 0 };
    }
    const guess = chardet.detect(bytes);
    if (!guess || !iconv.encodingExists(guess)) throw notText();
    return { encoding: guess, bomLength: 0 };
  }
}

/**
 * Decode an uploaded subtitle to normalised UTF-8 text (BOM dropped, CRLF/CR → LF). NUL (or DOS EOF)
 * padding after the end is dropped with a warning. Binary data (control characters within the text) or a
 * decoding that garbles the text (U+FFFD, C1 controls) → UnsupportedMediaType naming `/body/file`: garbled text is
 * never stored.
 */
export function decodeSubtitle(bytes: Uint8Array, language?: string): DecodedText {
  const { encoding, bomLength } = detectEncoding(bytes, language);
  const warnings: string[] = [];
  const decoded = iconv
    .decode(Buffer.from(bytes.subarray(bomLength)), encoding)
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n');
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL and DOS EOF padding is what it finds
  const padding = /[\u0000\u001a][\u0000\u001a\s]*$/.exec(decoded);
  let text = decoded;
  if (padding) {
    text = `${decoded.slice(0, padding.index).replace(/\s+$/, '')}\n`;
    warnings.push(
      `dropped ${padding[0].replace(/\s/g, '').length} NUL/EOF padding character(s) after the end of the file`,
    );
  }
  if (hasControlCharacters(text)) throw notText();
  if (GARBLED.test(text))
    throw notText(`does not decode cleanly as ${encoding} (characters would be lost); save it as UTF-8`);
  return { text, encoding, warnings };
}

/** Whether text holds C0 control characters other than tab, LF and CR (the mark of binary data). */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}
