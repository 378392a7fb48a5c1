import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { PayloadTooLarge, UnsupportedMediaType, ValidationFailed } from '../lib/errors.ts';
import { frameworkBody, refuseKnownOversize } from '../lib/http/body.ts';

/** The one file of an upload, read into memory (at most the file limit). */
export interface UploadedFile {
  readonly field: string;
  readonly fileName: string | undefined;
  readonly bytes: Buffer;
}

export interface MultipartForm {
  readonly fields: Readonly<Record<string, string>>;
  readonly file: UploadedFile | undefined;
}

export interface MultipartLimits {
  /** Largest file in bytes (413 past it). */
  readonly fileBytes: number;
  /** Largest text field in bytes (400 past it). */
  readonly fieldBytes?: number;
  /** Most text fields (400 past it). */
  readonly fields?: number;
}

/**
 * Read a multipart/form-data request with limits: one file (a second → 400), the file at most
 * `fileBytes` (413), text fields small and few (400). Another media type → 415. Works on the lean host
 * (streamed; a declared length far past the limit is refused before reading) and under
 * functions-framework (the bytes it already read).
 */
export function readMultipart(req: IncomingMessage, limits: MultipartLimits): Promise<MultipartForm> {
  const type = req.headers['content-type'] ?? '';
  if (!/^multipart\/form-data\s*;/i.test(type)) {
    req.resume();
    return Promise.reject(
      new UnsupportedMediaType('the request body must be multipart/form-data', {
        issues: [{ field: '/headers/content-type', message: 'must be multipart/form-data with a boundary' }],
      }),
    );
  }
  const fieldBytes = limits.fieldBytes ?? 4096;
  const maxFields = limits.fields ?? 10;
  // The whole body may exceed the file by the other parts and the boundaries; far more is refused unread.
  const bodyLimit = limits.fileBytes + maxFields * fieldBytes + 64 * 1024;
  try {
    refuseKnownOversize(req, bodyLimit, limits.fileBytes);
  } catch (error) {
    return Promise.reject(error);
  }
  const framework = frameworkBody(req);
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: {
          files: 1,
          // busboy calls a file of exactly `fileSize` bytes truncated: one more byte is what the limit allows.
          fileSize: limits.fileBytes + 1,
          fields: maxFields,
          fieldSize: fieldBytes,
          parts: maxFields + 2,
        },
      });
    } catch (error) {
      reject(new UnsupportedMediaType('malformed multipart/form-data header', { cause: error }));
      return;
    }
    const fields: Record<string, string> = {};
    let file: UploadedFile | undefined;
    let failure: Error | undefined;
    let fileRead: Promise<void> = Promise.resolve();
    const fail = (error: Error) => {
      failure ??= error;
    };
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated)
        fail(
          new ValidationFailed(`field ${name} is too long`, {
            issues: [{ field: `/body/${name}`, message: `must be at most ${fieldBytes} bytes` }],
          }),
        );
      else fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(new PayloadTooLarge(limits.fileBytes)));
      fileRead = new Promise((done) => {
        stream.on('end', () => {
          if (!(stream as { truncated?: boolean }).truncated)
            file = { field: name, fileName: info.filename, bytes: Buffer.concat(chunks) };
          done();
        });
        stream.on('error', () => done());
      });
    });
    const tooMany = (what: string) =>
      fail(
        new ValidationFailed(`too many ${what} in the form`, {
          issues: [{ field: what === 'files' ? '/body/file' : '/body', message: `too many ${what}` }],
        }),
      );
    parser.on('filesLimit', () => tooMany('files'));
    parser.on('fieldsLimit', () => tooMany('fields'));
    parser.on('partsLimit', () => tooMany('parts'));
    parser.on('error', (error: Error) => {
      req.unpipe(parser);
      req.resume();
      reject(failure ?? new ValidationFailed('malformed multipart/form-data body', { cause: error }));
    });
    parser.on('close', () => {
      void fileRead.then(() => (failure ? reject(failure) : resolve({ fields, file })));
    });
    if (framework) parser.end(framework);
    else {
      req.on('aborted', () => parser.destroy(new Error('the client aborted the request')));
      req.pipe(parser);
    }
  });
}
