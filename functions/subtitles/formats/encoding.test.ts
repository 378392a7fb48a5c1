import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../../lib/errors.ts';
import { decodeSubtitle, detectEncoding } from './encoding.ts';

const JAPANESE =
  '1\n00:00:01,000 --> 00:00:02,500\nこんにちは、世界。今日はいい天気ですね。\n\n2\n00:00:03,000 --> 00:00:04,000\n字幕の文字コードを確認します。\n';
const FRENCH =
  '1\n00:00:01,000 --> 00:00:02,500\nCafé déjà vu, naïve façade — «voilà» à l’été.\n\n2\n00:00:03,000 --> 00:00:04,000\nGarçon, où est la crème brûlée ?\n';

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return (error as IsekaiError).code;
  }
}

describe('decodeSubtitle', () => {
  it.each([
    ['UTF-8 without BOM', Buffer.from(JAPANESE, 'utf8'), 'UTF-8', JAPANESE],
    [
      'UTF-8 with BOM',
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JAPANESE)]),
      'UTF-8',
      JAPANESE,
    ],
    ['UTF-16LE with BOM', iconv.encode(JAPANESE, 'utf16le', { addBOM: true }), 'UTF-16LE', JAPANESE],
    ['UTF-16BE with BOM', iconv.encode(JAPANESE, 'utf16be', { addBOM: true }), 'UTF-16BE', JAPANESE],
    ['Shift_JIS (no BOM, chardet)', iconv.encode(JAPANESE, 'Shift_JIS'), 'Shift_JIS', JAPANESE],
    ['Windows-1252 (no BOM, chardet)', iconv.encode(FRENCH, 'windows-1252'), 'windows-1252', FRENCH],
  ])('reads %s as UTF-8 text', (_name, bytes, encoding, text) => {
    const decoded = decodeSubtitle(bytes);
    expect(decoded.encoding).toBe(encoding);
    expect(decoded.text).toBe(text);
  });

  it('normalises CRLF and CR line endings to LF and drops the BOM', () => {
    const decoded = decodeSubtitle(Buffer.from('\uFEFF1\r\n00:00:01,000 --> 00:00:02,000\rHi\r\n'));
    expect(decoded.text).toBe('1\n00:00:01,000 --> 00:00:02,000\nHi\n');
  });

  it('refuses binary data (a PNG header) as unsupported_media_type', () => {
    const png = Buffer.from([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52,
    ]);
    expect(codeOf(() => decodeSubtitle(png))).toBe('unsupported_media_type');
  });

  it('prefers strict UTF-8 over a guess when the bytes are valid UTF-8', () => {
    expect(detectEncoding(Buffer.from('plain ascii')).encoding).toBe('UTF-8');
  });
});
