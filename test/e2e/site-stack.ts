/**
 * The viewers' site end to end: the functions a viewer needs (edge-auth, catalog, library, rate-anime) as
 * their own processes on the lean host, the real nginx edge in front (isekai.localhost → the site,
 * api.isekai.localhost → the functions), the built site (Astro standalone) calling the API through that
 * edge, and the harness's real Keycloak with the realm's `isekai-site` client.
 */
import { join } from 'node:path';
import { importSeedCatalog } from '../../functions/catalog/seed.ts';
import { freePort } from '../../scripts/servers/harness.ts';
import { startTestEdge, type TestEdge } from '../../scripts/servers/nginx.ts';
import { type Proc, startProcess, waitHealthy } from '../../scripts/stack/processes.ts';
import { buildSiteIfNeeded, startSite } from '../../scripts/stack/site.ts';
import { addSiteOrigin } from '../setup/keycloak-client.ts';

const root = join(import.meta.dirname, '../..');
const FUNCTIONS = ['edge-auth', 'catalog', 'library', 'rate-anime'] as const;

export interface SiteStack {
  readonly edge: TestEdge;
  /** https://isekai.localhost:<port> */
  readonly siteUrl: string;
  stop(): Promise<void>;
}

export async function startSiteStack(env: Record<string, string>): Promise<SiteStack> {
  const stops: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch(() => undefined);
  };
  try {
    const [build] = await Promise.all([buildSiteIfNeeded(), importSeedCatalog(env.DATABASE_URL ?? '')]);
    process.stdout.write(`[site-e2e] site build: ${build}\n`);
    const ports = Object.fromEntries(
      await Promise.all(FUNCTIONS.map(async (f) => [f, await freePort()] as const)),
    );
    const common = {
      DATABASE_URL: env.DATABASE_URL ?? '',
      REDIS_URL: env.REDIS_URL ?? '',
      REDIS_KEY_PREFIX: env.REDIS_KEY_PREFIX ?? 'isekai:e2e-site:',
      OIDC_ISSUER: env.OIDC_ISSUER ?? '',
      OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
      LOG_LEVEL: 'warn',
      // The harness's Ceph RGW, for the library's stored backups.
      ...Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('S3_'))),
    };
    const procs: Proc[] = FUNCTIONS.map((name, i) => {
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

    const sitePort = await freePort();
    const nothing = await freePort();
    const keycloak = new URL(env.KEYCLOAK_URL ?? env.OIDC_ISSUER ?? '');
    const edge = await startTestEdge('site', {
      functions: ports,
      defaultPort: nothing,
      keycloakUrl: keycloak.origin,
      overrides: { site: { address: `127.0.0.1:${sitePort}` }, identityOrigin: keycloak.origin },
    });
    stops.push(edge.stop);
    const siteUrl = `https://isekai.localhost:${edge.port}`;
    stops.push(await addSiteOrigin(env, env.KEYCLOAK_SITE_CLIENT_ID ?? 'isekai-site', siteUrl));

    const site = await startSite(sitePort, {
      SITE_ORIGIN: siteUrl,
      API_BASE_URL: `https://api.isekai.localhost:${edge.port}`,
      API_CA_FILE: edge.options.tls.certificate,
      OIDC_ISSUER: env.OIDC_ISSUER ?? '',
      OIDC_CLIENT_SECRET: env.KEYCLOAK_SITE_CLIENT_SECRET ?? '',
      REDIS_URL: env.REDIS_URL ?? '',
      SESSION_KEY_PREFIX: `${common.REDIS_KEY_PREFIX}site:session:`,
    });
    stops.push(site.stop);
    return { edge, siteUrl, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
