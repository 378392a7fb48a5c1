import chardet from 'chardet';
import iconv from 'iconv-lite';
import { UnsupportedMediaType } from '../../lib/errors.ts';

/** The text of an uploaded file and the encoding it arrived in. */
export interface DecodedText {
  /** UTF-8 text without a BOM, line endings normalised to `\n`. */
  readonly text: string;
  /** The encoding detected: `UTF-8`, `UTF-16LE`, `Shift_JIS`, `windows-1252`… */
  readonly encoding: string;
}

const BOMS: readonly { bytes: number[]; encoding: string }[] = [
  { bytes: [0xef, 0xbb, 0xbf], encoding: 'UTF-8' },
  { bytes: [0xff, 0xfe], encoding: 'UTF-16LE' },
  { bytes: [0xfe, 0xff], encoding: 'UTF-16BE' },
];

const notText = () =>
  new UnsupportedMediaType('the file is not text in an encoding we can read', {
    issues: [{ field: '/body/file', message: 'must be a text subtitle file (SRT, WebVTT, ASS/SSA)' }],
  });

/** Which encoding the bytes are in: a BOM, else strict UTF-8, else chardet's best guess. */
export function detectEncoding(bytes: Uint8Array): { encoding: string; bomLength: number } {
  for (const bom of BOMS) {
    if (bom.bytes.every((b, i) => bytes[i] === b))
      return { encoding: bom.encoding, bomLength: bom.bytes.length };
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return { encoding: 'UTF-8', bomLength: 0 };
  } catch {
    const guess = chardet.detect(bytes);
    if (!guess || !iconv.encodingExists(guess)) throw notText();
    return { encoding: guess, bomLength: 0 };
  }
}

/**
 * Decode an uploaded subtitle to normalised UTF-8 text (BOM dropped, CRLF/CR → LF). Binary data (NUL
 * bytes in the text, an encoding nothing can read) → UnsupportedMediaType naming `/body/file`.
 */
export function decodeSubtitle(bytes: Uint8Array): DecodedText {
  const { encoding, bomLength } = detectEncoding(bytes);
  const text = iconv
    .decode(Buffer.from(bytes.subarray(bomLength)), encoding)
    .replace(/^\uFEFF/, '')
    .replace(/\r\n?/g, '\n');
  // Control characters other than tab/newline mean binary data (images, archives), not subtitles.
  if (hasControlCharacters(text)) throw notText();
  return { text, encoding };
}

/** Whether text holds C0 control characters other than tab, LF and CR (the mark of binary data). */
export function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return true;
  }
  return false;
}
