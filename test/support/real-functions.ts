import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudEvent, http } from '@google-cloud/functions-framework';
import type { CloudEventV1 } from 'cloudevents';
import { MongoClient } from 'mongodb';
import { catalogFromEnv } from '../../functions/catalog/catalog.ts';
import { deadLettersFromEnv } from '../../functions/dead-letters/settings.ts';
import { edgeAuthFromEnv } from '../../functions/edge-auth/edge-auth.ts';
import { groupsFromEnv } from '../../functions/groups/groups.ts';
import { integratorIngressFromEnv } from '../../functions/integrator-ingress/settings.ts';
import { createHostServer } from '../../functions/lib/host/server.ts';
import type { HttpHandler } from '../../functions/lib/http/http-function.ts';
import { libraryFromEnv } from '../../functions/library/library.ts';
import { wireNotifications } from '../../functions/notifications/settings.ts';
import { notifyFromEnv } from '../../functions/notify/settings.ts';
import { rateAnimeFromEnv } from '../../functions/rate-anime/rate-anime.ts';
import { subtitlesFromEnv } from '../../functions/subtitles/subtitles.ts';
import { uploadSubtitleFromEnv } from '../../functions/upload-subtitle/upload-subtitle.ts';
import type { EdgeFunction } from '../../nginx/options.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { createScratchDatabase } from './scratch-db.ts';
import { scratchBucket } from './subtitles.ts';
import { prepareDatabase } from './tracking.ts';

/** The CloudEvent functions the broker delivers to (the subscribers of knative/base's Triggers and dead letters). */
export type EventFunction = 'notify' | 'dead-letters';

export interface RealFunctionsOptions {
  /** `K_SINK` of the producers: a broker ingress (default: a port where nothing listens). */
  readonly sink?: string;
}

export interface RealFunctions {
  /** Where each function behind the edge listens (127.0.0.1). */
  readonly ports: Record<EdgeFunction, number>;
  /** Base URL of each CloudEvent function (`http://127.0.0.1:<port>/`): the broker's subscribers. */
  readonly subscribers: Record<EventFunction, string>;
  /** The scratch PostgreSQL database every function uses (catalogue, lists, outbox, processed events). */
  readonly databaseUrl: string;
  /** Requests each business function counted, by `<fn> <METHOD> <route template>` (its own metrics). */
  served(): Promise<Map<string, number>>;
  stop(): Promise<void>;
}

/**
 * Every HTTP function behind the edge, on the lean host (`createHostServer`, as production runs them)
 * with the production wiring (`<fn>FromEnv`, what each index.ts registers) on the run's real servers:
 * PostgreSQL (a database of its own, seed catalogue loaded), Redis, the MongoDB wire server, Ceph RGW (a bucket of its own), and
 * the real Keycloak (every function fetches the realm's JWKS and verifies tokens itself).
 * The CloudEvent functions the broker delivers to (notify, dead-letters) run beside them on the same stores.
 * `K_SINK` is `options.sink` (a broker ingress), else a port where nothing listens: an accepted integrator
 * event is then refused (503), never faked.
 */
export async function startRealFunctions(
  env: Record<string, string>,
  label: string,
  options: RealFunctionsOptions = {},
): Promise<RealFunctions> {
  // Databases, buckets and key prefixes of its own: the writes these functions make (lists, ratings, unsent
  // outbox rows) never meet other test files' assertions.
  const database = await createScratchDatabase(env.DATABASE_URL ?? '', label);
  await prepareDatabase(database.url);
  const bucket = await scratchBucket(env, label);
  const mongoDatabase = `isekai_${env.TEST_RUN_ID}_${label}`;
  const fnEnv: Record<string, string> = {
    DATABASE_URL: database.url,
    REDIS_URL: env.REDIS_URL ?? '',
    REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'isekai:'}${label}:`,
    MONGO_URL: env.MONGO_URL ?? '',
    MONGO_DATABASE: mongoDatabase,
    S3_ENDPOINT: env.S3_ENDPOINT ?? '',
    S3_REGION: env.S3_REGION ?? 'us-east-1',
    S3_ACCESS_KEY_ID: env.S3_ACCESS_KEY_ID ?? '',
    S3_SECRET_ACCESS_KEY: env.S3_SECRET_ACCESS_KEY ?? '',
    SUBTITLE_BUCKET: bucket.bucket,
    BACKUP_BUCKET: bucket.bucket,
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
    K_SINK: options.sink ?? `http://127.0.0.1:${await freePort()}/`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  };
  const servers: Server[] = [];
  const ports: Partial<Record<EdgeFunction, number>> = {};
  const serve = async (name: EdgeFunction, handler: HttpHandler) => {
    http(name, handler);
    const server = createHostServer({ target: name });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    ports[name] = (server.address() as AddressInfo).port;
  };
  await serve('edge-auth', edgeAuthFromEnv(fnEnv));
  await serve('catalog', catalogFromEnv(fnEnv));
  await serve('rate-anime', rateAnimeFromEnv(fnEnv));
  await serve('library', libraryFromEnv(fnEnv));
  await serve('subtitles', subtitlesFromEnv(fnEnv));
  await serve('upload-subtitle', uploadSubtitleFromEnv(fnEnv));
  await serve('notifications', wireNotifications(fnEnv).handler);
  await serve('groups', groupsFromEnv(fnEnv));
  await serve('integrator-ingress', integratorIngressFromEnv(fnEnv));
  // The broker's subscribers, registered as their index.ts does (`cloudEvent(name, …)`), on the lean host.
  const subscribers: Partial<Record<EventFunction, string>> = {};
  const subscribe = async (
    name: EventFunction,
    handle: (event: CloudEventV1<unknown>) => Promise<unknown>,
  ) => {
    cloudEvent(name, async (event: CloudEventV1<unknown>) => {
      await handle(event);
    });
    const server = createHostServer({ target: name });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    subscribers[name] = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  };
  await subscribe('notify', notifyFromEnv(fnEnv).handler);
  await subscribe('dead-letters', deadLettersFromEnv(fnEnv));

  return {
    ports: ports as Record<EdgeFunction, number>,
    subscribers: subscribers as Record<EventFunction, string>,
    databaseUrl: database.url,
    async served() {
      const counts = new Map<string, number>();
      await Promise.all(
        Object.entries(ports)
          .filter(([fn]) => fn !== 'edge-auth')
          .map(async ([fn, port]) => {
            const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
            for (const line of text.split('\n')) {
              const m =
                /^http_requests_total\{route="([^"]*)",method="([^"]*)",status="\d+"[^}]*\} (\d+)/.exec(line);
              if (!m || m[1] === '/metrics') continue;
              const key = `${fn} ${m[2]} ${m[1]}`;
              counts.set(key, (counts.get(key) ?? 0) + Number(m[3]));
            }
          }),
      );
      return counts;
    },
    async stop() {
      for (const server of servers) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
      await bucket.drop();
      await database.drop();
      const client = new MongoClient(env.MONGO_URL ?? '');
      await client
        .db(mongoDatabase)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
    },
  };
}
