import type { FileHandle } from 'node:fs/promises';

/** The chunk OpenSubtitles' hash reads from each end of the file. */
export const OSHASH_CHUNK = 64 * 1024;
const MASK = (1n << 64n) - 1n;

/** The sum of the little-endian 64-bit words of a chunk (a last partial word padded with zeros), mod 2^64. */
function sumWords(chunk: Uint8Array): bigint {
  const padded = new Uint8Array(Math.ceil(chunk.length / 8) * 8);
  padded.set(chunk);
  const view = new DataView(padded.buffer);
  let sum = 0n;
  for (let at = 0; at < padded.length; at += 8) sum = (sum + view.getBigUint64(at, true)) & MASK;
  return sum;
}

/**
 * OpenSubtitles' video hash (OSHash) from the file's size and its first and last 64 KiB: size + the
 * 64-bit sums of both chunks, mod 2^64, as 16 hex digits. A file under 128 KiB has overlapping chunks
 * (counted twice, as the reference does); one under 64 KiB is read whole at both ends.
 * @example osHash(size, head, tail) // '8e245d9679d31e12'
 */
export function osHash(size: number, head: Uint8Array, tail: Uint8Array): string {
  const hash = (BigInt(size) + sumWords(head) + sumWords(tail)) & MASK;
  return hash.toString(16).padStart(16, '0');
}

/** The OSHash of bytes in memory. */
export function osHashOfBytes(bytes: Uint8Array): string {
  const chunk = Math.min(OSHASH_CHUNK, bytes.length);
  return osHash(bytes.length, bytes.subarray(0, chunk), bytes.subarray(bytes.length - chunk));
}

/** The OSHash of an open file, reading only its two chunks (videos are gigabytes). */
export async function osHashOfFile(file: FileHandle): Promise<string> {
  const { size } = await file.stat();
  const chunk = Math.min(OSHASH_CHUNK, size);
  const read = async (position: number) => {
    const buffer = new Uint8Array(chunk);
    const { bytesRead } = await file.read(buffer, 0, chunk, position);
    return buffer.subarray(0, bytesRead);
  };
  return osHash(size, await read(0), await read(size - chunk));
}
