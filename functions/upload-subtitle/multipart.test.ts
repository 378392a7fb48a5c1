import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../lib/errors.ts';
import { readMultipart } from './multipart.ts';

const LIMIT = 1024;

/** The bytes and Content-Type a browser would send for this form. */
async function encode(form: FormData): Promise<{ bytes: Buffer; type: string }> {
  const request = new Request('http://upload.test/', { method: 'POST', body: form });
  return { bytes: Buffer.from(await request.arrayBuffer()), type: request.headers.get('content-type') ?? '' };
}

/** A request as the lean host hands it over (a stream), or as functions-framework does (bytes read). */
function requestOf(bytes: Buffer, type: string, framework: boolean): IncomingMessage {
  const headers = { 'content-type': type, 'content-length': String(bytes.length) };
  const req = Readable.from(framework ? [] : [bytes]) as unknown as IncomingMessage;
  return Object.assign(req, { headers, ...(framework ? { rawBody: bytes } : {}) });
}

const fileOf = (size: number, name = 'ep1.srt') => new File([Buffer.alloc(size, 'a')], name);

async function failure(work: Promise<unknown>): Promise<{ code: string; fields: string[] }> {
  try {
    await work;
  } catch (error) {
    const e = error as IsekaiError;
    return { code: e.code, fields: e.issues.map((i) => i.field) };
  }
  throw new Error('expected a failure');
}

describe.each([
  ['streamed (lean host)', false],
  ['already read (functions-framework)', true],
])('readMultipart, body %s', (_name, framework) => {
  it('reads the fields and the one file', async () => {
    const form = new FormData();
    form.set('animeId', '42');
    form.set('language', 'ja');
    form.set('file', fileOf(LIMIT, 'episode 1.srt'));
    const { bytes, type } = await encode(form);
    const read = await readMultipart(requestOf(bytes, type, framework), { fileBytes: LIMIT });
    expect(read.fields).toEqual({ animeId: '42', language: 'ja' });
    expect(read.file).toMatchObject({ field: 'file', fileName: 'episode 1.srt' });
    expect(read.file?.bytes.length).toBe(LIMIT);
  });

  it.each([
    ['a file one byte over the limit', () => [['file', fileOf(LIMIT + 1)]], 'payload_too_large', undefined],
    [
      'a second file',
      () => [
        ['file', fileOf(10)],
        ['other', fileOf(10, 'b.srt')],
      ],
      'validation_failed',
      '/body/file',
    ],
    ['a field past its size', () => [['notes', 'x'.repeat(5000)]], 'validation_failed', '/body/notes'],
    [
      'too many fields',
      () => Array.from({ length: 11 }, (_, i) => [`f${i}`, 'v']),
      'validation_failed',
      '/body',
    ],
  ] as const)('refuses %s', async (_case, parts, code, field) => {
    const form = new FormData();
    for (const [name, value] of parts() as unknown as [string, string | Blob][]) form.append(name, value);
    const { bytes, type } = await encode(form);
    const got = await failure(readMultipart(requestOf(bytes, type, framework), { fileBytes: LIMIT }));
    expect(got.code).toBe(code);
    if (field) expect(got.fields).toContain(field);
  });

  it('refuses another media type as unsupported_media_type', async () => {
    const got = await failure(
      readMultipart(requestOf(Buffer.from('{}'), 'application/json', framework), { fileBytes: LIMIT }),
    );
    expect(got.code).toBe('unsupported_media_type');
  });
});

it('refuses a declared length far past the limit before reading the body', async () => {
  const req = Object.assign(Readable.from([]), {
    headers: {
      'content-type': 'multipart/form-data; boundary=x',
      'content-length': String(10 * 1024 * 1024),
    },
  }) as unknown as IncomingMessage;
  expect((await failure(readMultipart(req, { fileBytes: LIMIT }))).code).toBe('payload_too_large');
});
