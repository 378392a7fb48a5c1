import { S3Client } from '@aws-sdk/client-s3';

export interface S3Settings {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * An S3 client for Ceph RGW (and the in-process dev server): path-style addressing, and checksums only
 * when an operation requires them. The SDK's default (WHEN_SUPPORTED) streams bodies as aws-chunked with
 * a trailing CRC32, which RGW 16.2 refuses with 411 MissingContentLength and s3rver stores corrupted.
 */
export function createS3(settings: S3Settings): S3Client {
  return new S3Client({
    endpoint: settings.endpoint,
    region: settings.region,
    forcePathStyle: true,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 2,
  });
}
