/**
 * Small Keycloak client for tests (plain fetch). `env` is what scripts/servers/keycloak.ts returns:
 * KEYCLOAK_URL, KEYCLOAK_REALM, KEYCLOAK_ADMIN_USER/PASSWORD, KEYCLOAK_DEV_CLIENT_ID, OIDC_ISSUER, ….
 */

type Env = Record<string, string | undefined>;

export interface TokenResponse {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token?: string;
  id_token?: string;
  scope?: string;
}

/** Passwords of the realm's dev/test users (knative/base/keycloak/realm-isekai.dev-overlay.json). */
export const DEV_USERS = {
  viewer1: { password: 'dev-only-viewer1', role: 'viewer' },
  uploader1: { password: 'dev-only-uploader1', role: 'uploader' },
  moderator1: { password: 'dev-only-moderator1', role: 'moderator' },
  admin1: { password: 'dev-only-admin1', role: 'admin' },
} as const;

function need(env: Env, name: string): string {
  const value = env[name];
  if (!value) throw new Error(`keycloak-client: ${name} is not set`);
  return value;
}

/** Error with Keycloak's OAuth `error` code (e.g. `invalid_grant`) or the HTTP status. */
export class KeycloakRequestError extends Error {
  override name = 'KeycloakRequestError';
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

async function fail(res: Response, what: string): Promise<never> {
  const text = await res.text();
  let code = `http_${res.status}`;
  try {
    code = (JSON.parse(text) as { error?: string }).error ?? code;
  } catch {
    // not JSON
  }
  throw new KeycloakRequestError(res.status, code, `${what}: ${res.status} ${text.slice(0, 300)}`);
}

async function tokenRequest(tokenUrl: string, form: Record<string, string>): Promise<TokenResponse> {
  const res = await fetch(tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(15_000),
  });
  if (!res.ok) await fail(res, `token request (${form.grant_type}, ${form.client_id})`);
  return (await res.json()) as TokenResponse;
}

const tokenUrl = (env: Env, realm = need(env, 'KEYCLOAK_REALM')) =>
  `${need(env, 'KEYCLOAK_URL')}/realms/${realm}/protocol/openid-connect/token`;

/**
 * Resource-owner password grant, by default through the dev-only public client (`isekai-dev-cli`).
 * @example const { access_token } = await passwordToken(env, 'viewer1', DEV_USERS.viewer1.password);
 */
export function passwordToken(
  env: Env,
  username: string,
  password: string,
  options: { clientId?: string; clientSecret?: string; scope?: string } = {},
): Promise<TokenResponse> {
  return tokenRequest(tokenUrl(env), {
    grant_type: 'password',
    client_id: options.clientId ?? need(env, 'KEYCLOAK_DEV_CLIENT_ID'),
    ...(options.clientSecret ? { client_secret: options.clientSecret } : {}),
    username,
    password,
    ...(options.scope ? { scope: options.scope } : {}),
  });
}

/** Client-credentials grant for a confidential client with a service account (e.g. `isekai-integrations`). */
export function clientCredentialsToken(env: Env, clientId: string, secret: string): Promise<TokenResponse> {
  return tokenRequest(tokenUrl(env), {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
  });
}

/** Access token of the master realm's bootstrap admin, for the admin REST API. */
async function adminToken(env: Env): Promise<string> {
  const res = await tokenRequest(tokenUrl(env, 'master'), {
    grant_type: 'password',
    client_id: 'admin-cli',
    username: need(env, 'KEYCLOAK_ADMIN_USER'),
    password: need(env, 'KEYCLOAK_ADMIN_PASSWORD'),
  });
  return res.access_token;
}

async function adminRequest<T>(
  env: Env,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<T> {
  const res = await fetch(`${need(env, 'KEYCLOAK_URL')}/admin/realms${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  if (!res.ok) await fail(res, `${method} /admin/realms${path}`);
  if (res.status === 201) return res.headers.get('location') as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** Admin REST call on the realm named by KEYCLOAK_REALM. */
const admin = <T>(env: Env, token: string, method: string, path: string, body?: unknown) =>
  adminRequest<T>(env, token, method, `/${need(env, 'KEYCLOAK_REALM')}${path}`, body);

/**
 * Create a realm from a full representation (e.g. a renamed copy of the dev realm) and return `env`
 * pointed at it, so a test can change keys or settings without disturbing tests that share `isekai`.
 * Placeholders such as `${KC_…:default}` are not resolved here (only the start-up import does that).
 */
export async function createRealm(env: Env, realm: { realm: string }): Promise<Record<string, string>> {
  await adminRequest(env, await adminToken(env), 'POST', '', realm);
  const issuer = `${need(env, 'KEYCLOAK_URL')}/realms/${realm.realm}`;
  return {
    ...(env as Record<string, string>),
    KEYCLOAK_REALM: realm.realm,
    OIDC_ISSUER: issuer,
    OIDC_JWKS_URI: `${issuer}/protocol/openid-connect/certs`,
  };
}

/** Delete the realm named by KEYCLOAK_REALM (refuses `isekai` and `master`). */
export async function deleteRealm(env: Env): Promise<void> {
  const realm = need(env, 'KEYCLOAK_REALM');
  if (realm === 'isekai' || realm === 'master') throw new Error(`deleteRealm: refusing to delete ${realm}`);
  await admin(env, await adminToken(env), 'DELETE', '');
}

interface Component {
  id: string;
  name: string;
  providerId: string;
  providerType: string;
  parentId: string;
  config: Record<string, string[]>;
}

interface KeysMetadata {
  active: Record<string, string>;
  keys: { kid: string; algorithm: string; providerId: string; status: string; use: string }[];
}

const KEY_PROVIDER = 'org.keycloak.keys.KeyProvider';
const isRs256Signing = (c: Component) =>
  (c.providerId === 'rsa-generated' || c.providerId === 'rsa') &&
  (c.config.algorithm?.[0] ?? 'RS256') === 'RS256';

/**
 * Rotate the realm's RS256 signing key the way an operator would: add a new `rsa-generated` key
 * provider with a higher priority (it signs from now on), turn the previous ones passive (still in
 * the JWKS, so tokens already issued keep verifying until they expire) or delete them
 * (`retire: 'delete'`: outstanding tokens fail at once). Providers left passive by an earlier rotation
 * are deleted, so repeated runs do not pile keys up. Returns the new `kid` and the old ones.
 */
export async function rotateRealmKey(
  env: Env,
  options: { retire?: 'passive' | 'delete' } = {},
): Promise<{ kid: string; previousKids: string[] }> {
  const token = await adminToken(env);
  const realm = await admin<{ id: string }>(env, token, 'GET', '');
  const components = await admin<Component[]>(env, token, 'GET', `/components?type=${KEY_PROVIDER}`);
  const signing = components.filter(isRs256Signing);
  const before = await admin<KeysMetadata>(env, token, 'GET', '/keys');
  const previousKids = before.keys
    .filter((k) => k.algorithm === 'RS256' && signing.some((c) => c.id === k.providerId))
    .map((k) => k.kid);
  const priority = Math.max(0, ...signing.map((c) => Number(c.config.priority?.[0] ?? 0))) + 10;

  const location = await admin<string>(env, token, 'POST', '/components', {
    name: `rsa-rotated-${Date.now()}`,
    providerId: 'rsa-generated',
    providerType: KEY_PROVIDER,
    parentId: realm.id,
    config: {
      priority: [String(priority)],
      enabled: ['true'],
      active: ['true'],
      algorithm: ['RS256'],
      keySize: ['2048'],
    },
  });
  const newId = location.slice(location.lastIndexOf('/') + 1);

  for (const old of signing) {
    const alreadyPassive = old.config.active?.[0] === 'false';
    if (options.retire === 'delete' || alreadyPassive) {
      await admin(env, token, 'DELETE', `/components/${old.id}`);
    } else {
      await admin(env, token, 'PUT', `/components/${old.id}`, {
        ...old,
        config: { ...old.config, active: ['false'] },
      });
    }
  }

  const after = await admin<KeysMetadata>(env, token, 'GET', '/keys');
  const created = after.keys.find((k) => k.providerId === newId && k.algorithm === 'RS256');
  if (!created) throw new Error(`rotateRealmKey: the new key provider ${newId} has no RS256 key`);
  if (after.active.RS256 !== created.kid)
    throw new Error(`rotateRealmKey: active RS256 key is ${after.active.RS256}, expected ${created.kid}`);
  return { kid: created.kid, previousKids };
}

/**
 * Import an RSA private key (PKCS#8 PEM) into the realm as an `rsa` key provider, so a test holds the
 * private half of a key the realm publishes. `active: false` publishes it in the JWKS (it verifies) without
 * signing anything, so tokens other tests get are untouched. Returns its `kid` and component id.
 */
export async function addRealmKey(
  env: Env,
  options: { name: string; privateKeyPem: string; active: boolean; priority?: number },
): Promise<{ kid: string; componentId: string }> {
  const token = await adminToken(env);
  const realm = await admin<{ id: string }>(env, token, 'GET', '');
  const location = await admin<string>(env, token, 'POST', '/components', {
    name: options.name,
    providerId: 'rsa',
    providerType: KEY_PROVIDER,
    parentId: realm.id,
    config: {
      priority: [String(options.priority ?? 0)],
      enabled: ['true'],
      active: [String(options.active)],
      algorithm: ['RS256'],
      privateKey: [options.privateKeyPem],
    },
  });
  const componentId = location.slice(location.lastIndexOf('/') + 1);
  const keys = await admin<KeysMetadata>(env, token, 'GET', '/keys');
  const key = keys.keys.find((k) => k.providerId === componentId && k.algorithm === 'RS256');
  if (!key) throw new Error(`addRealmKey: provider ${componentId} has no RS256 key`);
  return { kid: key.kid, componentId };
}

/** Delete key-provider components of the realm by name (e.g. a test's imported key, also stale ones). */
export async function deleteRealmKeys(env: Env, name: string): Promise<number> {
  const token = await adminToken(env);
  const components = await admin<Component[]>(env, token, 'GET', `/components?type=${KEY_PROVIDER}`);
  const matching = components.filter((c) => c.name === name);
  for (const c of matching) await admin(env, token, 'DELETE', `/components/${c.id}`);
  return matching.length;
}

/**
 * Register a local site origin on a client of the realm (exact redirect URI `<origin>/auth/callback` and
 * post-logout URI `<origin>/`); returns a function that removes them again. Test edges listen on free
 * ports, so their origin cannot be in the realm export.
 */
export async function addSiteOrigin(
  env: Env,
  clientId: string,
  origin: string,
): Promise<() => Promise<void>> {
  const token = await adminToken(env);
  const [found] = await admin<{ id: string }[]>(
    env,
    token,
    'GET',
    `/clients?clientId=${encodeURIComponent(clientId)}`,
  );
  if (!found) throw new Error(`no client ${clientId}`);
  type Client = { redirectUris?: string[]; attributes?: Record<string, string> };
  const path = `/clients/${found.id}`;
  const callback = `${origin}/auth/callback`;
  const home = `${origin}/`;
  const change = async (edit: (c: Client) => void) => {
    const client = await admin<Client>(env, await adminToken(env), 'GET', path);
    edit(client);
    await admin(env, await adminToken(env), 'PUT', path, client);
  };
  const logoutUris = (c: Client) =>
    (c.attributes?.['post.logout.redirect.uris'] ?? '').split('##').filter(Boolean);
  await change((c) => {
    c.redirectUris = [...new Set([...(c.redirectUris ?? []), callback])];
    c.attributes = {
      ...c.attributes,
      'post.logout.redirect.uris': [...new Set([...logoutUris(c), home])].join('##'),
    };
  });
  return () =>
    change((c) => {
      c.redirectUris = (c.redirectUris ?? []).filter((u) => u !== callback);
      c.attributes = {
        ...c.attributes,
        'post.logout.redirect.uris': logoutUris(c)
          .filter((u) => u !== home)
          .join('##'),
      };
    });
}

/** A confidential client with a service account, created for one test and deleted by `remove`. */
export interface ServiceClient {
  readonly clientId: string;
  readonly secret: string;
  remove(): Promise<void>;
}

/**
 * Create a client-credentials client in the realm (e.g. an integrator spelled `Airing-Bot-…`, mixed
 * case on purpose) whose service account holds `realmRoles`, with the `isekai-api` audience the API
 * verifies. Delete it with `remove()`.
 */
export async function createServiceClient(
  env: Env,
  clientId: string,
  realmRoles: readonly string[],
): Promise<ServiceClient> {
  const token = await adminToken(env);
  const secret = `dev-only-${Math.random().toString(36).slice(2)}`;
  const location = await admin<string>(env, token, 'POST', '/clients', {
    clientId,
    enabled: true,
    protocol: 'openid-connect',
    publicClient: false,
    secret,
    standardFlowEnabled: false,
    directAccessGrantsEnabled: false,
    serviceAccountsEnabled: true,
    protocolMappers: [
      {
        name: 'audience-isekai-api',
        protocol: 'openid-connect',
        protocolMapper: 'oidc-audience-mapper',
        config: { 'included.client.audience': 'isekai-api', 'access.token.claim': 'true' },
      },
    ],
  });
  const id = location.slice(location.lastIndexOf('/') + 1);
  const remove = () => admin<void>(env, token, 'DELETE', `/clients/${id}`);
  try {
    const account = await admin<{ id: string }>(env, token, 'GET', `/clients/${id}/service-account-user`);
    const roles = await Promise.all(
      realmRoles.map((name) => admin<{ id: string; name: string }>(env, token, 'GET', `/roles/${name}`)),
    );
    await admin(env, token, 'POST', `/users/${account.id}/role-mappings/realm`, roles);
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    clientId,
    secret,
    remove: async () =>
      remove().catch(async () => {
        // the admin token may have expired during a long test: fetch a new one
        await admin<void>(env, await adminToken(env), 'DELETE', `/clients/${id}`);
      }),
  };
}

/** A realm user created for one test file, deleted by `remove`. */
export interface RealmUser {
  readonly username: string;
  readonly password: string;
  /** Keycloak's id: the `sub` of the user's tokens. */
  readonly id: string;
  remove(): Promise<void>;
}

/**
 * Create a user with a password and `realmRoles` (e.g. `['viewer', 'uploader']`), so a test does not share
 * the dev users, which other tests may lock out (the realm is brute-force protected) or change. Get its
 * tokens with `passwordToken(env, user.username, user.password)`; delete it with `remove()`.
 */
export async function createUser(
  env: Env,
  username: string,
  realmRoles: readonly string[],
): Promise<RealmUser> {
  const token = await adminToken(env);
  const password = `dev-only-${Math.random().toString(36).slice(2)}`;
  const location = await admin<string>(env, token, 'POST', '/users', {
    username,
    enabled: true,
    email: `${username}@isekai.localhost`,
    emailVerified: true,
    firstName: username,
    lastName: 'Test',
    requiredActions: [],
    credentials: [{ type: 'password', value: password, temporary: false }],
  });
  const id = location.slice(location.lastIndexOf('/') + 1);
  const remove = async () => {
    await admin<void>(env, await adminToken(env), 'DELETE', `/users/${id}`);
  };
  try {
    const roles = await Promise.all(
      realmRoles.map((name) => admin<{ id: string; name: string }>(env, token, 'GET', `/roles/${name}`)),
    );
    await admin(env, token, 'POST', `/users/${id}/role-mappings/realm`, roles);
  } catch (error) {
    await remove();
    throw error;
  }
  return { username, password, id, remove };
}
