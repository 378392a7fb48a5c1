import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadOrCreateSecrets } from './keys.ts';
import { handleLogin } from './login.ts';
import { createProvider, KEYCLOAK_ROUTES } from './provider.ts';
import { loadRealm, type Realm, type RealmUser } from './realm.ts';
import { createUserinfoHandler } from './userinfo.ts';

export interface EmbeddedOidcOptions {
  /** Port to listen on (0: any free port). */
  readonly port: number;
  readonly realmFile: string;
  /** Dev overlay (dev users, isekai-dev-cli); optional. */
  readonly overlayFile?: string;
  /** Where the signing key is kept between runs (e.g. .data/oidc). */
  readonly dataDir: string;
  readonly host?: string;
  /**
   * The local site's public origin (e.g. https://isekai.localhost:8200): registered as an exact redirect
   * URI and post-logout URI of `isekai-site`, since the port of a local stack varies (ISEKAI_PORT_BASE).
   */
  readonly siteOrigin?: string;
}

export interface EmbeddedOidc {
  /** `http://127.0.0.1:<port>/realms/<realm>`, as Keycloak names it. */
  readonly issuer: string;
  /** The realm's users with a password (dev accounts) and their effective realm roles. */
  readonly devAccounts: readonly { username: string; password: string; roles: readonly string[] }[];
  /** Confidential clients with a service account (client credentials grant), their secret and roles. */
  readonly serviceClients: readonly { clientId: string; secret: string; roles: readonly string[] }[];
  stop(): Promise<void>;
}

/**
 * DEV ONLY: an OpenID provider (oidc-provider) shaped like the Keycloak realm — same paths under
 * /realms/<realm>, same clients, roles and users (read from the realm export + dev overlay), and
 * Keycloak-shaped RS256 access tokens — so `createTokenVerifier` runs unchanged against it.
 */
export async function startEmbeddedOidc(options: EmbeddedOidcOptions): Promise<EmbeddedOidc> {
  const realm = withSiteOrigin(await loadRealm(options.realmFile, options.overlayFile), options.siteOrigin);
  const secrets = await loadOrCreateSecrets(options.dataDir);
  const host = options.host ?? '127.0.0.1';
  const mountPath = `/realms/${realm.name}`;

  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.writeHead(503).end();
  };
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host}:${port}${mountPath}`;

  const provider = createProvider(issuer, realm, secrets);
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = secrets.signingKey;
  const userinfo = createUserinfoHandler(realm, issuer, publicJwk);
  const callback = provider.callback();

  handle = (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const fail = (error: unknown) => {
      if (!res.headersSent) res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(error instanceof Error ? error.message : 'bad request');
    };
    if (!path.startsWith(`${mountPath}/`)) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'Realm does not exist' }));
    } else if (path.startsWith(`${mountPath}/login-actions/`)) {
      handleLogin(provider, realm, req, res).catch(fail);
    } else if (path === `${mountPath}${KEYCLOAK_ROUTES.userinfo}`) {
      userinfo(req, res).catch(fail);
    } else {
      // oidc-provider derives its mount path from originalUrl (what Express's app.use would do).
      Object.assign(req, { originalUrl: req.url });
      req.url = (req.url ?? '/').slice(mountPath.length) || '/';
      callback(req, res);
    }
  };

  return {
    issuer,
    devAccounts: realm.users.filter(hasPassword).map((u) => ({
      username: u.username,
      password: u.password,
      roles: u.realmRoles,
    })),
    serviceClients: realm.clients
      .filter((c) => c.serviceAccounts && typeof c.secret === 'string')
      .map((c) => ({
        clientId: c.clientId,
        secret: c.secret ?? '',
        roles: realm.serviceAccount(c.clientId)?.realmRoles ?? [],
      })),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The realm with the local site's callback and logout return added to the `isekai-site` client. */
function withSiteOrigin(realm: Realm, origin: string | undefined): Realm {
  if (!origin) return realm;
  const clients = realm.clients.map((c) =>
    c.clientId === 'isekai-site'
      ? {
          ...c,
          redirectUris: [...new Set([...c.redirectUris, `${origin}/auth/callback`])],
          postLogoutRedirectUris: [...new Set([...c.postLogoutRedirectUris, `${origin}/`])],
        }
      : c,
  );
  return { ...realm, clients, client: (id) => clients.find((c) => c.clientId === id) };
}

function hasPassword(user: RealmUser): user is RealmUser & { password: string } {
  return typeof user.password === 'string';
}

/** The start summary's dev accounts table, with a curl line for a password-grant token. */
export function describeDevAccounts(oidc: EmbeddedOidc): string {
  const token = `${oidc.issuer}/protocol/openid-connect/token`;
  const rows = oidc.devAccounts.map(
    (a) => `  ${a.username.padEnd(12)} ${a.password.padEnd(22)} ${a.roles.filter(isShownRole).join(', ')}`,
  );
  return [
    'Dev accounts (embedded identity provider, DEV ONLY):',
    `  ${'username'.padEnd(12)} ${'password'.padEnd(22)} roles`,
    ...rows,
    ...oidc.serviceClients.map(
      (c) =>
        `  client ${c.clientId} / secret ${c.secret} (client credentials) → ${c.roles.filter(isShownRole).join(', ') || 'no roles'}`,
    ),
    'Token for curl (the answer carries a refresh_token too):',
    `  curl -s ${token} -d grant_type=password -d client_id=isekai-dev-cli -d username=viewer1 -d password=dev-only-viewer1`,
    'Refresh it (jq picks the field):',
    `  curl -s ${token} -d grant_type=refresh_token -d client_id=isekai-dev-cli -d refresh_token=$REFRESH_TOKEN`,
    ...oidc.serviceClients.map(
      (c) =>
        `Integrator token:\n  curl -s ${token} -u ${c.clientId}:${c.secret} -d grant_type=client_credentials`,
    ),
  ].join('\n');
}

/** Roles worth showing in the start summary (not Keycloak's defaults every user has). */
function isShownRole(role: string): boolean {
  return !role.startsWith('default-roles-') && role !== 'offline_access' && role !== 'uma_authorization';
}
