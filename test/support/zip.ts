import { crc32, deflateRawSync } from 'node:zlib';

/** One file for makeZip; the overrides forge what a hostile zip declares. */
export interface ZipInput {
  readonly name: string;
  readonly data: Uint8Array | string;
  readonly deflate?: boolean;
  /** Declare this inflated size instead of the real one. */
  readonly declaredSize?: number;
  /** Point the central directory at the local header of this earlier file (overlapping entries). */
  readonly sameDataAs?: number;
}

/** A zip archive built byte by byte (PKWARE APPNOTE 4.3.7 / 4.3.12 / 4.3.16), UTF-8 names. */
export function makeZip(files: readonly ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  const offsets: number[] = [];
  let offset = 0;
  files.forEach((file) => {
    const raw = typeof file.data === 'string' ? Buffer.from(file.data) : Buffer.from(file.data);
    const body = file.deflate ? deflateRawSync(raw) : raw;
    const name = Buffer.from(file.name);
    const size = file.declaredSize ?? raw.length;
    const crc = crc32(raw);
    const method = file.deflate ? 8 : 0;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const at = file.sameDataAs !== undefined ? (offsets[file.sameDataAs] ?? 0) : offset;
    offsets.push(at);
    if (file.sameDataAs === undefined) {
      locals.push(local, name, body);
      offset += local.length + name.length + body.length;
    }
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(at, 42);
    centrals.push(central, name);
  });
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
