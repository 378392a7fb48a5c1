import { mkdir } from 'node:fs/promises';
import S3rver from 's3rver';

/**
 * An in-process S3 server (s3rver) for the local stack. Files live under `dataDir`. Our S3 client sends
 * checksums only when required (functions/lib/data/s3.ts): with the SDK defaults s3rver stores streamed
 * bodies with their aws-chunked framing.
 */
export async function startEmbeddedS3(dataDir: string, port: number, buckets: string[]) {
  await mkdir(dataDir, { recursive: true });
  const server = new S3rver({
    address: '127.0.0.1',
    port,
    silent: true,
    directory: dataDir,
    configureBuckets: buckets.map((name) => ({ name, configs: [] })),
  });
  await server.run();
  return {
    env: {
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_REGION: 'us-east-1',
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
    },
    stop: () => server.close(),
  };
}
