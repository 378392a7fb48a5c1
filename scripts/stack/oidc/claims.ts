import type { Realm, RealmClient, RealmUser } from './realm.ts';

/** Client scopes whose name Keycloak puts into the token's `scope` claim (include.in.token.scope). */
const SCOPES_IN_TOKEN = new Set(['profile', 'email', 'address', 'phone', 'offline_access', 'organization']);

/** Keycloak's profile + email claims for a user (the `profile` and `email` client scopes). */
export function profileClaims(user: RealmUser, client?: RealmClient): Record<string, unknown> {
  const scopes = new Set(client?.defaultClientScopes ?? ['profile', 'email']);
  const claims: Record<string, unknown> = { sub: user.sub };
  if (scopes.has('email')) {
    claims.email_verified = user.emailVerified;
    if (user.email) claims.email = user.email;
  }
  if (scopes.has('profile')) {
    const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
    if (name) claims.name = name;
    claims.preferred_username = user.username;
    if (user.firstName) claims.given_name = user.firstName;
    if (user.lastName) claims.family_name = user.lastName;
  }
  return claims;
}

/** Keycloak's `scope` claim: openid when asked for, the client's default scopes, granted optional ones. */
export function tokenScope(client: RealmClient, grantedScope: string | undefined): string {
  const granted = (grantedScope ?? '').split(' ').filter(Boolean);
  const scope = [
    ...(granted.includes('openid') ? ['openid'] : []),
    ...client.defaultClientScopes.filter((s) => SCOPES_IN_TOKEN.has(s)),
    ...granted.filter((s) => s !== 'openid' && SCOPES_IN_TOKEN.has(s)),
  ];
  return [...new Set(scope)].join(' ');
}

export interface TokenFacts {
  readonly clientId: string;
  /** The signed-in user's subject; undefined for client credentials (the service account is used). */
  readonly accountId?: string;
  /** Scopes oidc-provider granted (space separated). */
  readonly scope?: string;
  readonly sid?: string;
}

/**
 * The claims of a Keycloak access token, replacing oidc-provider's defaults: typ Bearer, azp, aud from
 * the client's audience mappers (+ clients the user holds roles of, as Keycloak does, e.g. `account`),
 * realm_access / resource_access roles, profile claims, scope, and the service-account shape for
 * client credentials. `iss`, `iat`, `exp`, `jti` are kept from oidc-provider.
 */
export function keycloakAccessTokenClaims(
  realm: Realm,
  facts: TokenFacts,
  base: Record<string, unknown>,
): Record<string, unknown> {
  const client = realm.client(facts.clientId);
  const user = facts.accountId ? realm.userBySub(facts.accountId) : realm.serviceAccount(facts.clientId);
  if (!client || !user) throw new Error(`no realm client/user for token of ${facts.clientId}`);
  const audiences = [...client.audiences];
  const resourceAccess: Record<string, { roles: readonly string[] }> = {};
  for (const [clientId, roles] of Object.entries(user.clientRoles)) {
    if (roles.length === 0) continue;
    resourceAccess[clientId] = { roles };
    if (!audiences.includes(clientId)) audiences.push(clientId);
  }
  const claims: Record<string, unknown> = {
    exp: base.exp,
    iat: base.iat,
    jti: base.jti,
    iss: base.iss,
    aud: audiences.length === 1 ? audiences[0] : audiences,
    sub: user.sub,
    typ: 'Bearer',
    azp: client.clientId,
    ...(facts.sid ? { sid: facts.sid } : {}),
    acr: '1',
    ...(client.defaultClientScopes.includes('web-origins') && client.webOrigins.length > 0
      ? { 'allowed-origins': client.webOrigins }
      : {}),
    realm_access: { roles: user.realmRoles },
    ...(Object.keys(resourceAccess).length > 0 ? { resource_access: resourceAccess } : {}),
    scope: tokenScope(client, facts.scope),
    ...profileClaims(user, client),
  };
  if (!facts.accountId) claims.client_id = client.clientId;
  return claims;
}
