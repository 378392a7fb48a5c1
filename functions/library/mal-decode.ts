import { gunzipSync } from 'node:zlib';
import chardet from 'chardet';
import iconv from 'iconv-lite';
import { PayloadTooLarge, ValidationFailed } from '../lib/errors.ts';

/** Largest decompressed import we read (MAL's own exports of huge lists are a few MiB). */
export const MAX_XML_BYTES = 64 * 1024 * 1024;

/**
 * Bytes of an uploaded MAL export (`.xml` or `.xml.gz`) → text. Gunzips when the gzip magic is there;
 * picks the encoding from a BOM, then the XML declaration, then strict UTF-8, then chardet; characters
 * XML forbids are scrubbed. Never throws for an odd encoding: it is decoded best-effort.
 */
export function decodeUpload(bytes: Buffer): { text: string; encoding: string; gzipped: boolean } {
  let data = bytes;
  const gzipped = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  if (gzipped) {
    try {
      data = gunzipSync(bytes, { maxOutputLength: MAX_XML_BYTES });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE')
        throw new PayloadTooLarge(MAX_XML_BYTES);
      throw new ValidationFailed('the file looks gzipped but cannot be decompressed', {
        cause: error,
        issues: [{ field: '/body', message: 'corrupt gzip data' }],
      });
    }
  }
  const encoding = detectEncoding(data);
  const text = iconv.decode(data, encoding).replace(/^\uFEFF/, '');
  // XML 1.0 forbids these control characters; dirty exports contain them.
  return {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing exactly these characters is the point
    text: text.replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/g, ''),
    encoding,
    gzipped,
  };
}

function detectEncoding(data: Buffer): string {
  if (data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) return 'utf8';
  if (data[0] === 0xff && data[1] === 0xfe) return 'utf16le';
  if (data[0] === 0xfe && data[1] === 0xff) return 'utf16be';
  const declared = /^<\?xml[^>]*encoding=["']([A-Za-z0-9._-]+)["']/.exec(
    data.subarray(0, 200).toString('latin1'),
  )?.[1];
  const strictUtf8 = isUtf8(data);
  if (declared && !/^utf-?8$/i.test(declared) && iconv.encodingExists(declared) && !strictUtf8)
    return declared;
  if (strictUtf8) return 'utf8';
  const guess = chardet.detect(data);
  return guess && iconv.encodingExists(guess) && !/^utf-?8$/i.test(guess) ? guess : 'windows-1252';
}

function isUtf8(data: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(data);
    return true;
  } catch {
    return false;
  }
}

/**
 * Escape bare `&` outside CDATA sections (MAL writes titles like "Tom & Jerry" unescaped), leaving real
 * entity and character references alone.
 */
export function escapeBareAmpersands(xml: string): string {
  return xml
    .split(/(<!\[CDATA\[[\s\S]*?\]\]>)/)
    .map((part) =>
      part.startsWith('<![CDATA[')
        ? part
        : part.replace(/&(?!(?:[A-Za-z][A-Za-z0-9]*|#\d+|#x[0-9A-Fa-f]+);)/g, '&amp;'),
    )
    .join('');
}
