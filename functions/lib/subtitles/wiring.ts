import type { S3Client } from '@aws-sdk/client-s3';
import { MongoNetworkError, MongoServerSelectionError } from 'mongodb';
import type { Static } from 'typebox';
import { verifierFromSettings } from '../auth/token-verifier.ts';
import { loadConfig, Type } from '../config.ts';
import { createMongo } from '../data/mongo.ts';
import { createS3 } from '../data/s3.ts';
import { DependencyUnavailable } from '../errors.ts';
import { createHttpTransport, type EventTransport } from '../events/transport.ts';
import type { Authenticator } from '../http/types.ts';
import { createRuntime, type Runtime } from '../runtime.ts';
import { openCollections, type SubtitleCollections } from './store.ts';

/** Settings of both subtitle functions (subtitles, upload-subtitle): MongoDB, the bucket, tokens, the sink. */
export const SubtitleStorageSettings = Type.Object({
  /**
   * Subtitle metadata (collections `subtitles`, `subtitle_reports`). Without it (`npm start` with no
   * MongoDB) the function starts and its routes answer 503; Vault always provides it in the cluster.
   */
  MONGO_URL: Type.Optional(Type.String({ pattern: '^mongodb(\\+srv)?://' })),
  /** Database name; without it the one in MONGO_URL's path (the driver's `test` when there is none). */
  MONGO_DATABASE: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,63}$' })),
  /** S3 endpoint of the subtitle files (Ceph RGW). */
  S3_ENDPOINT: Type.String({ format: 'uri' }),
  S3_REGION: Type.String({ minLength: 1, default: 'us-east-1' }),
  S3_ACCESS_KEY_ID: Type.String({ minLength: 1 }),
  S3_SECRET_ACCESS_KEY: Type.String({ minLength: 1 }),
  SUBTITLE_BUCKET: Type.String({
    pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$',
    default: 'isekai-subtitles',
  }),
  OIDC_ISSUER: Type.String({ format: 'uri' }),
  OIDC_AUDIENCE: Type.String({ minLength: 1, default: 'isekai-api' }),
  OIDC_JWKS_URL: Type.Optional(Type.String({ format: 'uri' })),
  /** Broker ingress (a SinkBinding sets it); without it events stay pending in their documents. */
  K_SINK: Type.Optional(Type.String({ format: 'uri' })),
});

/** What a subtitle function is wired from; tests build it with their own authenticator and collections. */
export interface SubtitleDeps {
  readonly runtime: Runtime;
  /** The collections, indexes ensured on first use (a MongoDB outage → 503, retried on the next call). */
  readonly collections: () => Promise<SubtitleCollections>;
  readonly s3: S3Client;
  readonly bucket: string;
  readonly authenticate: Authenticator;
  readonly send: EventTransport | undefined;
}

export interface SubtitleOverrides {
  readonly authenticate?: Authenticator;
  readonly collections?: () => Promise<SubtitleCollections>;
}

/** A MongoDB outage as a 503 (the caller may retry); anything else unchanged. */
export function mongoFault(error: unknown): unknown {
  if (error instanceof MongoServerSelectionError || error instanceof MongoNetworkError)
    return new DependencyUnavailable('mongodb', { cause: error, retryAfter: 5 });
  return error;
}

/** Parse the settings once (fails fast naming what is missing) and create the clients. */
export function wireSubtitles(
  name: string,
  env: NodeJS.ProcessEnv,
  overrides: SubtitleOverrides = {},
): SubtitleDeps & { settings: Static<typeof SubtitleStorageSettings> } {
  const settings = loadConfig(SubtitleStorageSettings, env);
  const runtime = createRuntime(name, { env });
  const client = settings.MONGO_URL ? createMongo(runtime, settings.MONGO_URL) : undefined;
  let opened: Promise<SubtitleCollections> | undefined;
  const collections =
    overrides.collections ??
    (() => {
      if (!client) return Promise.reject(new DependencyUnavailable('mongodb (MONGO_URL is not set)'));
      opened ??= openCollections(client.db(settings.MONGO_DATABASE)).catch((error: unknown) => {
        opened = undefined;
        throw mongoFault(error);
      });
      return opened;
    });
  const s3 = createS3({
    endpoint: settings.S3_ENDPOINT,
    region: settings.S3_REGION,
    accessKeyId: settings.S3_ACCESS_KEY_ID,
    secretAccessKey: settings.S3_SECRET_ACCESS_KEY,
  });
  const authenticate = overrides.authenticate ?? verifierFromSettings(settings).authenticate;
  const send = settings.K_SINK ? createHttpTransport({ runtime, sink: settings.K_SINK }) : undefined;
  return { settings, runtime, collections, s3, bucket: settings.SUBTITLE_BUCKET, authenticate, send };
}
