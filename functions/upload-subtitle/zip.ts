import type { Readable } from 'node:stream';
import yauzl, { type Entry, type ZipFile } from 'yauzl';
import { type IsekaiError, PayloadTooLarge, Unprocessable, ValidationFailed } from '../lib/errors.ts';

/** What a zip of subtitles may hold. Declared sizes are trusted: yauzl fails a stream that inflates past them. */
export interface ZipLimits {
  readonly maxEntries: number;
  /** Largest file once inflated (the single-file upload limit). */
  readonly maxEntryBytes: number;
  /** All files together once inflated. */
  readonly maxTotalBytes: number;
  /** Largest inflated/compressed ratio of one file (text compresses ~5–10×; bombs ~1000×). */
  readonly maxRatio: number;
}

export const ZIP_LIMITS: ZipLimits = {
  maxEntries: 200,
  maxEntryBytes: 16 * 1024 * 1024,
  maxTotalBytes: 64 * 1024 * 1024,
  maxRatio: 100,
};

/** One file of the zip: its bytes, or why it was refused (without inflating it). */
export type ZipMember =
  | { readonly name: string; readonly bytes: Buffer }
  | { readonly name: string; readonly error: IsekaiError };

/** Whether bytes are a zip archive (a local file header, or the end record of an empty archive). */
export const isZip = (bytes: Uint8Array | undefined): boolean =>
  bytes !== undefined &&
  bytes.length >= 4 &&
  bytes[0] === 0x50 &&
  bytes[1] === 0x4b &&
  ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6));

const refuse = (message: string) =>
  new Unprocessable(`the zip cannot be used: ${message}`, { issues: [{ field: '/body/file', message }] });
const refuseMember = (name: string, message: string) =>
  new ValidationFailed(`${name}: ${message}`, { issues: [{ field: '/body/file', message }] });

/** Every central-directory record, read without inflating anything. */
function entriesOf(zip: ZipFile, max: number): Promise<Entry[]> {
  return new Promise((resolve, reject) => {
    const entries: Entry[] = [];
    zip.on('entry', (entry: Entry) => {
      entries.push(entry);
      if (entries.length > max) {
        zip.close();
        reject(refuse(`more than ${max} files`));
      } else zip.readEntry();
    });
    zip.on('end', () => resolve(entries));
    zip.on('error', (error: Error) => reject(refuse(error.message)));
    zip.readEntry();
  });
}

async function readAll(stream: Readable, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > limit) {
      stream.destroy();
      throw new PayloadTooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * The files of a zip upload, each with its own verdict. Whole-zip refusals (422) come from the central
 * directory alone, before anything is inflated: not a zip, too many files, more inflated bytes than the
 * cap, or entries whose data overlap (the overlapping-file zip bomb). Per file, without inflating it:
 * an absolute, `..` or backslash name, a name used twice (every copy refused), encryption, a file over the
 * size cap or with a bomb's compression ratio. Directories and `__MACOSX/` metadata are left out.
 */
export async function readZip(bytes: Buffer, limits: ZipLimits = ZIP_LIMITS): Promise<ZipMember[]> {
  let zip: ZipFile;
  try {
    zip = await yauzl.fromBufferPromise(bytes, {
      lazyEntries: true,
      decodeStrings: false,
      validateEntrySizes: true,
      strictFileNames: true,
    });
  } catch (error) {
    throw refuse(error instanceof Error ? error.message : 'not a zip archive');
  }
  try {
    const entries = await entriesOf(zip, limits.maxEntries);
    const total = entries.reduce((sum, e) => sum + e.uncompressedSize, 0);
    if (total > limits.maxTotalBytes)
      throw refuse(`its files inflate to ${total} bytes, more than ${limits.maxTotalBytes}`);
    const byOffset = [...entries].sort(
      (a, b) => a.relativeOffsetOfLocalHeader - b.relativeOffsetOfLocalHeader,
    );
    for (let i = 1; i < byOffset.length; i++) {
      const before = byOffset[i - 1] as Entry;
      const here = byOffset[i] as Entry;
      // A local header is at least 30 bytes before its data: data ranges that reach the next header overlap.
      if (before.relativeOffsetOfLocalHeader + 30 + before.compressedSize > here.relativeOffsetOfLocalHeader)
        throw refuse('two files share their data (an overlapping-entries zip bomb)');
    }
    const named = entries.map((entry) => ({
      entry,
      name: yauzl.getFileNameLowLevel(
        entry.generalPurposeBitFlag,
        entry.fileName as unknown as Buffer,
        entry.extraFields,
        true,
      ),
    }));
    const files = named.filter(({ name }) => !name.endsWith('/') && !/(^|\/)__MACOSX\//.test(name));
    const counts = new Map<string, number>();
    for (const { name } of files)
      counts.set(
        name.normalize('NFC').toLowerCase(),
        (counts.get(name.normalize('NFC').toLowerCase()) ?? 0) + 1,
      );
    const members: ZipMember[] = [];
    for (const { entry, name } of files) {
      const unsafe = yauzl.validateFileName(name);
      const problem = unsafe
        ? `unsafe file name (${unsafe.replace(/:.*$/, '')})`
        : (counts.get(name.normalize('NFC').toLowerCase()) ?? 0) > 1
          ? 'the name is used by more than one file'
          : entry.isEncrypted()
            ? 'encrypted'
            : entry.uncompressedSize > limits.maxEntryBytes
              ? `inflates to ${entry.uncompressedSize} bytes, more than ${limits.maxEntryBytes}`
              : entry.uncompressedSize > Math.max(entry.compressedSize, 1) * limits.maxRatio
                ? `compressed ${Math.round(entry.uncompressedSize / Math.max(entry.compressedSize, 1))}:1 (a zip bomb)`
                : undefined;
      if (problem) {
        members.push({ name, error: refuseMember(name, problem) });
        continue;
      }
      const stream = await zip.openReadStreamPromise(entry);
      members.push({ name, bytes: await readAll(stream, limits.maxEntryBytes) });
    }
    return members;
  } finally {
    zip.close();
  }
}

/**
 * The episode a file name is for: `S01E05`, `E05`/`EP05`, ` - 05` (fansub style), `[05]`, or a name that
 * is only a number; undefined when the name does not say.
 * @example episodeFromName('[Group] Show - 05 (1080p) [ABCD1234].en.srt') // 5
 */
export function episodeFromName(name: string): number | undefined {
  const base = (name.split('/').pop() ?? name).replace(/\.[^.]+$/, '');
  const patterns = [
    /S\d{1,2}\s?E(\d{1,4})/i,
    /(?:^|[\s._-])EP?\.?\s?(\d{1,4})(?![\dp])/i,
    /\s-\s(\d{1,4})(?:v\d)?(?![\d.p])/i,
    /\[(\d{1,4})\]/,
    /^(\d{1,4})(?:\.[a-z-]+)?$/i,
  ];
  for (const pattern of patterns) {
    const m = pattern.exec(base);
    if (m?.[1] && Number(m[1]) > 0) return Number(m[1]);
  }
  return undefined;
}
