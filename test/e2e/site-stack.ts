/**
 * The viewers' site end to end: the functions a viewer needs (edge-auth, catalog, library, rate-anime) as
 * their own processes on the lean host, the real nginx edge in front (isekai.localhost → the site,
 * api.isekai.localhost → the functions), the built site (Astro standalone) calling the API through that
 * edge, and the harness's real Keycloak with the realm's `isekai-site` client.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import pg from 'pg';
import { importRecords, parseDataset } from '../../functions/catalog/import.ts';
import { importSeedCatalog } from '../../functions/catalog/seed.ts';
import { inTransaction } from '../../functions/lib/data/postgres.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { startTestEdge, type TestEdge } from '../../scripts/servers/nginx.ts';
import { startEmbeddedOidc } from '../../scripts/stack/oidc/index.ts';
import { type Proc, startProcess, waitHealthy } from '../../scripts/stack/processes.ts';
import { buildSiteIfNeeded, startSite } from '../../scripts/stack/site.ts';
import { addSiteOrigin } from '../setup/keycloak-client.ts';
import { type ChainStack, startChainStack } from '../support/chain-stack.ts';
import { createScratchDatabase } from '../support/scratch-db.ts';

const root = join(import.meta.dirname, '../..');
const FUNCTIONS = ['edge-auth', 'catalog', 'library', 'rate-anime', 'subtitles'] as const;
type FunctionName = (typeof FUNCTIONS)[number] | 'notifications' | 'upload-subtitle';

export interface SiteStack {
  readonly edge: TestEdge;
  /** The stack's own PostgreSQL database (seed catalogue + `bulkAnime` synthetic anime). */
  readonly databaseUrl: string;
  /** MongoDB of the subtitles function (`MONGO_URL`, database `mongoDatabase`). */
  readonly mongoUrl: string;
  readonly mongoDatabase: string;
  /** https://isekai.localhost:<port> */
  readonly siteUrl: string;
  /** The site's `SESSION_KEY_PREFIX` in the harness's Redis (a session is this + the cookie's value). */
  readonly sessionKeyPrefix: string;
  /** The functions' `REDIS_KEY_PREFIX` (live notification channels are `<prefix>notifications:<inbox>`). */
  readonly redisKeyPrefix: string;
  stop(): Promise<void>;
}

export interface SiteStackOptions {
  /**
   * `keycloak` (default): the harness's real Keycloak. `embedded`: the embedded identity provider of
   * `npm start` (scripts/stack/oidc, started the way scripts/start.ts starts it), for the functions, the
   * edge and the site alike.
   */
  readonly identity?: 'keycloak' | 'embedded';
  /** Add BULK_ANIME synthetic anime to the catalogue (lists of thousands). Default true. */
  readonly bulk?: boolean;
  /** Names the scratch databases (one per test file). Default `site`. */
  readonly label?: string;
  /**
   * Run the notifications function too (inbox, unread count, the live SSE stream; the inboxes in this
   * stack's MongoDB database, live signals on its Redis prefix). Default false: the site then shows no
   * badge and its live script keeps retrying.
   */
  readonly notifications?: boolean;
  /** Run upload-subtitle too (`POST /uploads`, the site's /upload page). Default false. */
  readonly uploads?: boolean;
  /** The subtitles function's `SUBTITLE_BUCKET` (an existing bucket of the caller's). Default its own default. */
  readonly subtitleBucket?: string;
}

export async function startSiteStack(
  env: Record<string, string>,
  options: SiteStackOptions = {},
): Promise<SiteStack> {
  const label = options.label ?? 'site';
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    // A database of its own: the bulk anime and the lists never meet other test files' assertions.
    const database = await createScratchDatabase(env.DATABASE_URL ?? '', label);
    stops.push(database.drop);
    const mongoDatabase = `isekai_${env.TEST_RUN_ID ?? process.pid}_${label}`;
    stops.push(async () => {
      const client = new MongoClient(env.MONGO_URL ?? '');
      await client
        .db(mongoDatabase)
        .dropDatabase()
        .finally(() => client.close());
    });
    const [build] = await Promise.all([
      buildSiteIfNeeded(),
      importSeedCatalog(database.url).then(() =>
        options.bulk === false ? undefined : importBulkAnime(database.url),
      ),
    ]);
    process.stdout.write(`[site-e2e] site build: ${build}\n`);
    // The edge's port is chosen first: the embedded provider registers the site's exact origin at start.
    const edgePort = await freePort();
    const siteUrl = `https://isekai.localhost:${edgePort}`;
    let issuer = env.OIDC_ISSUER ?? '';
    let siteSecret = env.KEYCLOAK_SITE_CLIENT_SECRET ?? '';
    if (options.identity === 'embedded') {
      const dataDir = await mkdtemp(join(tmpdir(), 'isekai-site-idp-'));
      stops.push(() => rm(dataDir, { recursive: true, force: true }));
      const realm = join(root, 'knative/base/keycloak');
      const provider = await startEmbeddedOidc({
        port: 0,
        realmFile: join(realm, 'realm-isekai.json'),
        overlayFile: join(realm, 'realm-isekai.dev-overlay.json'),
        dataDir,
        siteOrigin: siteUrl,
      });
      stops.push(provider.stop);
      issuer = provider.issuer;
      siteSecret = 'dev-only-isekai-site-secret'; // scripts/start.ts's default (the realm's dev overlay)
    }
    const functions: FunctionName[] = [
      ...FUNCTIONS,
      ...(options.notifications ? ['notifications' as const] : []),
      ...(options.uploads ? ['upload-subtitle' as const] : []),
    ];
    const ports = Object.fromEntries(
      await Promise.all(functions.map(async (f) => [f, await freePort()] as const)),
    );
    const common = {
      DATABASE_URL: database.url,
      MONGO_URL: env.MONGO_URL ?? '',
      MONGO_DATABASE: mongoDatabase,
      REDIS_URL: env.REDIS_URL ?? '',
      REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX ?? 'isekai:e2e-site:',
      OIDC_ISSUER: issuer,
      OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
      LOG_LEVEL: 'warn',
      ...(options.subtitleBucket ? { SUBTITLE_BUCKET: options.subtitleBucket } : {}),
      // The harness's Ceph RGW, for the library's stored backups.
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('S3_'))),
    };
    const procs: Proc[] = functions.map((name, i) => {
      const port = String(ports[name]);
      const proc = startProcess(
        name,
        [
          process.execPath,
          join(root, 'functions/lib/host/main.ts'),
          `--source=${join(root, 'functions', name, 'index.ts')}`,
          `--target=${name}`,
          `--port=${port}`,
          '--host=127.0.0.1',
        ],
        { ...common, K_SERVICE: name, PORT: port },
        i,
      );
      stops.push(proc.stop);
      return proc;
    });
    await Promise.all(procs.map((p) => waitHealthy(`http://127.0.0.1:${ports[p.name]}/healthz`, p, 150_000)));

    const sessionKeyPrefix = `${common.REDIS_KEY_PREFIX}site:session:`;
    const sitePort = await freePort();
    const nothing = await freePort();
    const identity = new URL(
      options.identity === 'embedded' ? issuer : (env.KEYCLOAK_URL ?? env.OIDC_ISSUER ?? ''),
    );
    const edge = await startTestEdge(label, {
      functions: ports,
      defaultPort: nothing,
      keycloakUrl: identity.origin,
      https: edgePort,
      overrides: { site: { address: `127.0.0.1:${sitePort}` }, identityOrigin: identity.origin },
    });
    stops.push(edge.stop);
    if (options.identity !== 'embedded')
      stops.push(await addSiteOrigin(env, env.KEYCLOAK_SITE_CLIENT_ID ?? 'isekai-site', siteUrl));

    const site = await startSite(sitePort, {
      SITE_ORIGIN: siteUrl,
      API_BASE_URL: `https://api.isekai.localhost:${edge.port}`,
      API_CA_FILE: edge.options.tls.certificate,
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_SECRET: siteSecret,
      REDIS_URL: env.REDIS_URL ?? '',
      SESSION_KEY_PREFIX: sessionKeyPrefix,
    });
    stops.push(site.stop);
    return {
      edge,
      siteUrl,
      sessionKeyPrefix,
      redisKeyPrefix: common.REDIS_KEY_PREFIX,
      stop,
      databaseUrl: database.url,
      mongoUrl: env.MONGO_URL ?? '',
      mongoDatabase,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** How many synthetic anime `importBulkAnime` adds (MAL ids BULK_MAL_BASE + 1 …), for lists of thousands. */
export const BULK_ANIME = 2_100;
export const BULK_MAL_BASE = 80_000_000;

/** Synthetic anime ("Bulk anime 0001" …) through the catalogue's own importer, in one transaction. */
async function importBulkAnime(databaseUrl: string): Promise<void> {
  const data = Array.from({ length: BULK_ANIME }, (_, i) => ({
    sources: [`https://example.org/bulk/${i + 1}`],
    title: `Bulk anime ${String(i + 1).padStart(4, '0')}`,
    type: 'TV',
    episodes: 12,
    status: 'FINISHED',
    animeSeason: { season: 'UNDEFINED', year: null },
    malId: BULK_MAL_BASE + i + 1,
  }));
  const { records } = parseDataset(JSON.stringify({ data }));
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  try {
    await importRecords((work) => inTransaction(pool, work), records);
  } finally {
    await pool.end();
  }
}

export interface ChainSite {
  /** Every function on its production wiring, the broker on RabbitMQ, notify, nginx (chain-stack.ts). */
  readonly chain: ChainStack;
  /** https://isekai.localhost:<edge port> */
  readonly siteUrl: string;
  stop(): Promise<void>;
}

/**
 * The built site in front of a chain stack (test/support/chain-stack.ts) with the harness's real Keycloak:
 * what a story across several functions and the broker needs. `label` names the stack's scratch stores and
 * the site's session prefix.
 */
export async function startChainSite(env: Record<string, string>, label: string): Promise<ChainSite> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const build = await buildSiteIfNeeded();
    process.stdout.write(`[${label}] site build: ${build}\n`);
    const sitePort = await freePort();
    const keycloak = new URL(env.KEYCLOAK_URL ?? env.OIDC_ISSUER ?? '');
    const chain = await startChainStack(env, label, {
      edgeOverrides: { site: { address: `127.0.0.1:${sitePort}` }, identityOrigin: keycloak.origin },
    });
    stops.push(chain.stop);
    const siteUrl = `https://isekai.localhost:${chain.edge.port}`;
    stops.push(await addSiteOrigin(env, env.KEYCLOAK_SITE_CLIENT_ID ?? 'isekai-site', siteUrl));
    const site = await startSite(sitePort, {
      SITE_ORIGIN: siteUrl,
      API_BASE_URL: chain.origin('api'),
      API_CA_FILE: chain.edge.options.tls.certificate,
      OIDC_ISSUER: env.OIDC_ISSUER ?? '',
      OIDC_CLIENT_SECRET: env.KEYCLOAK_SITE_CLIENT_SECRET ?? '',
      REDIS_URL: env.REDIS_URL ?? '',
      SESSION_KEY_PREFIX: `${env.REDIS_KEY_PREFIX ?? 'isekai:'}${label}:session:`,
    });
    stops.push(site.stop);
    return { chain, siteUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
