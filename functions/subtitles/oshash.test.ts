import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { osHashOfBytes, osHashOfFile } from './oshash.ts';

/** The reference algorithm written plainly: size + every 64-bit word of the first and last 64 KiB. */
function reference(bytes: Uint8Array): string {
  const word = (at: number) => {
    let v = 0n;
    for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(bytes[at + i] ?? 0);
    return v;
  };
  const chunk = Math.min(65_536, bytes.length);
  let hash = BigInt(bytes.length);
  for (let at = 0; at < chunk; at += 8) hash += word(at);
  for (let at = bytes.length - chunk; at < bytes.length; at += 8) hash += word(at);
  return (hash & ((1n << 64n) - 1n)).toString(16).padStart(16, '0');
}

const pattern = (size: number) => Uint8Array.from({ length: size }, (_, i) => (i * 7919 + (i >> 8)) & 0xff);

describe('OSHash', () => {
  it.each([
    ['128 KiB of zeros: just the size', new Uint8Array(131_072), '0000000000020000'],
    [
      'all 0xFF: 16384 words of −1 wrap at 2^64 (size − 0x4000)',
      new Uint8Array(131_072).fill(0xff),
      '000000000001c000',
    ],
  ])('%s', (_name, bytes, hash) => {
    expect(osHashOfBytes(bytes)).toBe(hash);
  });

  it.each([
    ['a 1 MiB file', 1_048_576],
    ['exactly 128 KiB (the chunks meet)', 131_072],
    ['100 KiB (the chunks overlap)', 102_400],
    ['exactly 64 KiB (both chunks are the file)', 65_536],
    ['1000 bytes (smaller than a chunk)', 1000],
    ['13 bytes (a partial last word)', 13],
  ])('matches the reference for %s', (_name, size) => {
    const bytes = pattern(size);
    expect(osHashOfBytes(bytes)).toBe(reference(bytes));
  });

  it('reads only the two chunks of a file on disk and agrees with the in-memory hash', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oshash-'));
    try {
      const bytes = pattern(300_001);
      await writeFile(join(dir, 'video.mkv'), bytes);
      const file = await open(join(dir, 'video.mkv'));
      try {
        expect(await osHashOfFile(file)).toBe(osHashOfBytes(bytes));
      } finally {
        await file.close();
      }
    } finally {
      await rm(dir, { recursive: true });
    }
  });
});
