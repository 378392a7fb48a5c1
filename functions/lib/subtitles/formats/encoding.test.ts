import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../../errors.ts';
import { decodeSubtitle, detectEncoding } from './encoding.ts';

const JAPANESE =
  '1\n00:00:01,000 --> 00:00:02,500\nこんにちは、世界。今日はいい天気ですね。\n\n2\n00:00:03,000 --> 00:00:04,000\n字幕の文字コードを確認します。\n';
const POLISH =
  '1\n00:00:01,000 --> 00:00:02,500\nZażółć gęślą jaźń, powiedział Świętosław.\n\n2\n00:00:03,000 --> 00:00:04,000\nŁódź już śpi; źrebię ściągnęło ćmę.\n';
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
    expect(decoded).toEqual({ text, encoding, warnings: [] });
  });

  it.each([
    ['UTF-16LE without a BOM (the NUL pattern)', iconv.encode(JAPANESE, 'utf16le'), 'UTF-16LE'],
    ['UTF-16BE without a BOM (the NUL pattern)', iconv.encode(JAPANESE, 'utf16be'), 'UTF-16BE'],
    ['Polish UTF-16LE without a BOM', iconv.encode(POLISH, 'utf16le'), 'UTF-16LE'],
  ])('reads %s', (_name, bytes, encoding) => {
    const decoded = decodeSubtitle(bytes);
    expect(decoded).toMatchObject({ encoding, warnings: [] });
    expect(decoded.text).toMatch(/^1\n00:00:01,000 --> 00:00:02,500\n/);
  });

  it('tries the language’s code page before a generic detector (pl → windows-1250)', () => {
    const decoded = decodeSubtitle(iconv.encode(POLISH, 'windows-1250'), 'pl');
    expect(decoded).toEqual({ text: POLISH, encoding: 'windows-1250', warnings: [] });
  });

  it('takes ISO-8859-2 for Polish when that is what the bytes are', () => {
    const decoded = decodeSubtitle(iconv.encode(POLISH, 'ISO-8859-2'), 'pl-PL');
    expect(decoded.text).toBe(POLISH);
  });

  it('never returns garbled text (U+FFFD): refused as unsupported_media_type', () => {
    // 0x81 is undefined in windows-1250 as in every candidate for Polish; a detector would garble it.
    const bytes = Buffer.concat([iconv.encode(POLISH, 'windows-1250'), Buffer.from([0x81, 0x98, 0x0a])]);
    expect(codeOf(() => decodeSubtitle(bytes, 'pl'))).toBe('unsupported_media_type');
  });

  it('drops NUL padding after the end and reports it (UTF-8 with a BOM)', () => {
    const bytes = Buffer.concat([
      Buffer.from('\uFEFF1\n00:00:01,000 --> 00:00:02,000\nHi\n'),
      Buffer.alloc(37),
    ]);
    expect(decodeSubtitle(bytes)).toEqual({
      text: '1\n00:00:01,000 --> 00:00:02,000\nHi\n',
      encoding: 'UTF-8',
      warnings: ['dropped 37 NUL/EOF padding character(s) after the end of the file'],
    });
  });

  it('still refuses NUL bytes inside the text (binary data)', () => {
    expect(codeOf(() => decodeSubtitle(Buffer.from('1\n00:00:01,000 --> 00:00:02,000\nH\u0000i\n')))).toBe(
      'unsupported_media_type',
    );
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
