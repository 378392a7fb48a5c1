import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/**
 * The parts of a Keycloak realm export (plus its dev overlay) the embedded provider serves: realm roles
 * with composites, clients, users with passwords, and lifetimes. Nothing here is duplicated in code:
 * it all comes from knative/base/keycloak/realm-isekai*.json.
 */
export interface RealmClient {
  readonly clientId: string;
  readonly secret?: string;
  readonly publicClient: boolean;
  readonly standardFlow: boolean;
  readonly directAccessGrants: boolean;
  readonly serviceAccounts: boolean;
  readonly refreshTokens: boolean;
  readonly pkceMethod?: string;
  readonly redirectUris: readonly string[];
  readonly postLogoutRedirectUris: readonly string[];
  readonly webOrigins: readonly string[];
  /** `included.client.audience` of its oidc-audience-mapper protocol mappers (access token). */
  readonly audiences: readonly string[];
  readonly defaultClientScopes: readonly string[];
}

export interface RealmUser {
  /** Stable subject: the export's `id` when present, else a UUID derived from realm + username. */
  readonly sub: string;
  readonly username: string;
  readonly email?: string;
  readonly emailVerified: boolean;
  readonly firstName?: string;
  readonly lastName?: string;
  readonly password?: string;
  readonly serviceAccountClientId?: string;
  /** Effective realm roles: assigned roles with composites expanded (default roles included). */
  readonly realmRoles: readonly string[];
  /** Effective client roles from composites, by client id (e.g. account: view-profile). */
  readonly clientRoles: Readonly<Record<string, readonly string[]>>;
}

export interface Realm {
  readonly name: string;
  readonly accessTokenLifespan: number;
  readonly accessCodeLifespan: number;
  readonly loginLifespan: number;
  readonly ssoSessionIdleTimeout: number;
  readonly ssoSessionMaxLifespan: number;
  readonly clients: readonly RealmClient[];
  readonly users: readonly RealmUser[];
  client(clientId: string): RealmClient | undefined;
  userBySub(sub: string): RealmUser | undefined;
  userByName(usernameOrEmail: string): RealmUser | undefined;
  serviceAccount(clientId: string): RealmUser | undefined;
}

interface RoleJson {
  name: string;
  composite?: boolean;
  composites?: { realm?: string[]; client?: Record<string, string[]> };
}
interface ClientJson {
  clientId: string;
  enabled?: boolean;
  bearerOnly?: boolean;
  publicClient?: boolean;
  secret?: string;
  standardFlowEnabled?: boolean;
  directAccessGrantsEnabled?: boolean;
  serviceAccountsEnabled?: boolean;
  redirectUris?: string[];
  webOrigins?: string[];
  attributes?: Record<string, string>;
  protocolMappers?: { protocolMapper: string; config?: Record<string, string> }[];
  defaultClientScopes?: string[];
}
interface UserJson {
  id?: string;
  username: string;
  enabled?: boolean;
  email?: string;
  emailVerified?: boolean;
  firstName?: string;
  lastName?: string;
  serviceAccountClientId?: string;
  realmRoles?: string[];
  credentials?: { type: string; value?: string }[];
}
interface RealmJson {
  realm?: string;
  accessTokenLifespan?: number;
  accessCodeLifespan?: number;
  accessCodeLifespanLogin?: number;
  ssoSessionIdleTimeout?: number;
  ssoSessionMaxLifespan?: number;
  roles?: { realm?: RoleJson[] };
  defaultRole?: { name: string };
  clients?: ClientJson[];
  users?: UserJson[];
}

/**
 * Keycloak's import-time placeholder replacement: `${VAR}` / `${VAR:default}` (also `${env.VAR}`) take
 * the environment variable, else the default; an unknown placeholder without a default stays as is
 * (Keycloak uses `${role_…}`-style keys for localised texts).
 */
export function resolvePlaceholders(text: string, env: NodeJS.ProcessEnv = process.env): string {
  return text.replace(/\$\{([A-Za-z0-9_.-]+)(?::([^}]*))?\}/g, (whole, name: string, fallback?: string) => {
    const value = env[name.replace(/^env\./, '')];
    if (value !== undefined) return value;
    return fallback ?? whole;
  });
}

async function readRealmJson(file: string): Promise<RealmJson> {
  return JSON.parse(resolvePlaceholders(await readFile(file, 'utf8'))) as RealmJson;
}

/** Read the realm export and an optional overlay (`ifResourceExists: SKIP`: the base realm wins on conflicts). */
export async function loadRealm(realmFile: string, overlayFile?: string): Promise<Realm> {
  const base = await readRealmJson(realmFile);
  const overlay = overlayFile ? await readRealmJson(overlayFile) : {};
  const merge = <T>(a: T[] = [], b: T[] = [], key: (t: T) => string) => {
    const seen = new Set(a.map(key));
    return [...a, ...b.filter((t) => !seen.has(key(t)))];
  };
  const realmName = base.realm ?? 'isekai';
  const roles = new Map(
    merge(base.roles?.realm, overlay.roles?.realm, (r) => r.name).map((role) => [role.name, role]),
  );

  function expand(assigned: readonly string[]) {
    const realmRoles = new Set<string>();
    const clientRoles: Record<string, Set<string>> = {};
    const visit = (name: string) => {
      if (realmRoles.has(name)) return;
      realmRoles.add(name);
      const role = roles.get(name);
      for (const inner of role?.composites?.realm ?? []) visit(inner);
      for (const [client, names] of Object.entries(role?.composites?.client ?? {})) {
        clientRoles[client] ??= new Set();
        for (const n of names) clientRoles[client].add(n);
      }
    };
    assigned.forEach(visit);
    return {
      realmRoles: [...realmRoles],
      clientRoles: Object.fromEntries(Object.entries(clientRoles).map(([c, s]) => [c, [...s]])),
    };
  }

  const clients: RealmClient[] = merge(base.clients, overlay.clients, (c) => c.clientId)
    .filter((c) => c.enabled !== false && !c.bearerOnly)
    .map((c) => ({
      clientId: c.clientId,
      secret: c.publicClient ? undefined : c.secret,
      publicClient: c.publicClient === true,
      standardFlow: c.standardFlowEnabled !== false,
      directAccessGrants: c.directAccessGrantsEnabled === true,
      serviceAccounts: c.serviceAccountsEnabled === true,
      refreshTokens: c.attributes?.['use.refresh.tokens'] !== 'false',
      pkceMethod: c.attributes?.['pkce.code.challenge.method'] || undefined,
      redirectUris: c.redirectUris ?? [],
      postLogoutRedirectUris: (c.attributes?.['post.logout.redirect.uris'] ?? '')
        .split('##')
        .filter((u) => u !== '' && u !== '+'),
      webOrigins: c.webOrigins ?? [],
      audiences: (c.protocolMappers ?? [])
        .filter((m) => m.protocolMapper === 'oidc-audience-mapper')
        .filter((m) => m.config?.['access.token.claim'] !== 'false')
        .map((m) => m.config?.['included.client.audience'] ?? m.config?.['included.custom.audience'])
        .filter((a): a is string => typeof a === 'string' && a !== ''),
      defaultClientScopes: c.defaultClientScopes ?? [],
    }));

  const users: RealmUser[] = merge(base.users, overlay.users, (u) => u.username)
    .filter((u) => u.enabled !== false)
    .map((u) => ({
      sub: u.id ?? stableUuid(`${realmName}/${u.username}`),
      username: u.username,
      email: u.email,
      emailVerified: u.emailVerified === true,
      firstName: u.firstName,
      lastName: u.lastName,
      password: u.credentials?.find((c) => c.type === 'password')?.value,
      serviceAccountClientId: u.serviceAccountClientId,
      ...expand(u.realmRoles ?? (base.defaultRole ? [base.defaultRole.name] : [])),
    }));

  const bySub = new Map(users.map((u) => [u.sub, u]));
  const byName = new Map(
    users.flatMap((u) => [[u.username, u] as const, [u.email ?? u.username, u] as const]),
  );
  const byClient = new Map(clients.map((c) => [c.clientId, c]));
  return {
    name: realmName,
    accessTokenLifespan: base.accessTokenLifespan ?? 300,
    accessCodeLifespan: base.accessCodeLifespan ?? 60,
    loginLifespan: base.accessCodeLifespanLogin ?? 1800,
    ssoSessionIdleTimeout: base.ssoSessionIdleTimeout ?? 1800,
    ssoSessionMaxLifespan: base.ssoSessionMaxLifespan ?? 36000,
    clients,
    users,
    client: (clientId) => byClient.get(clientId),
    userBySub: (sub) => bySub.get(sub),
    userByName: (name) => {
      const user = byName.get(name) ?? byName.get(name.toLowerCase());
      return user?.serviceAccountClientId ? undefined : user;
    },
    serviceAccount: (clientId) => users.find((u) => u.serviceAccountClientId === clientId),
  };
}

/** A name-based (v5-style) UUID, so a user's `sub` is the same on every run. */
function stableUuid(name: string): string {
  const h = createHash('sha1').update(`isekai-embedded-oidc:${name}`).digest();
  h[6] = ((h[6] ?? 0) & 0x0f) | 0x50;
  h[8] = ((h[8] ?? 0) & 0x3f) | 0x80;
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
