import Provider, {
  type ClientMetadata,
  type Configuration,
  errors,
  type ResourceServer,
} from 'oidc-provider';
import { keycloakAccessTokenClaims, profileClaims } from './claims.ts';
import type { ProviderSecrets } from './keys.ts';
import { escapeHtml } from './login.ts';
import { memoryAdapterFactory } from './memory-adapter.ts';
import { registerPasswordGrant } from './password-grant.ts';
import type { Realm, RealmClient } from './realm.ts';

/** Keycloak's OpenID Connect endpoint paths, relative to `<host>/realms/<realm>`. */
export const KEYCLOAK_ROUTES = {
  authorization: '/protocol/openid-connect/auth',
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  userinfo: '/protocol/openid-connect/userinfo',
  end_session: '/protocol/openid-connect/logout',
} as const;

/** Internal resource indicator of the API; the `aud` of tokens comes from the realm's audience mappers. */
export const API_RESOURCE = 'urn:isekai:api';
const SCOPES = ['openid', 'profile', 'email', 'offline_access', 'roles', 'web-origins', 'acr', 'basic'];

function clientMetadata(client: RealmClient): ClientMetadata {
  const grantTypes = [
    ...(client.standardFlow ? ['authorization_code'] : []),
    ...((client.standardFlow || client.directAccessGrants) && client.refreshTokens ? ['refresh_token'] : []),
    ...(client.serviceAccounts ? ['client_credentials'] : []),
    ...(client.directAccessGrants ? ['password'] : []),
  ];
  return {
    client_id: client.clientId,
    ...(client.publicClient
      ? { token_endpoint_auth_method: 'none' }
      : { client_secret: client.secret, token_endpoint_auth_method: 'client_secret_basic' }),
    grant_types: grantTypes,
    response_types: client.standardFlow ? ['code'] : [],
    redirect_uris: client.standardFlow ? [...client.redirectUris] : [],
    post_logout_redirect_uris: [...client.postLogoutRedirectUris],
    id_token_signed_response_alg: 'RS256',
  };
}

/** An oidc-provider instance configured from the realm export to behave like the Keycloak realm. */
export function createProvider(issuer: string, realm: Realm, secrets: ProviderSecrets): Provider {
  const mountPath = new URL(issuer).pathname;
  const ttl = realm.accessTokenLifespan;
  const resourceServer: ResourceServer = {
    scope: SCOPES.join(' '),
    audience: 'isekai-api',
    accessTokenTTL: ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
  const configuration: Configuration = {
    adapter: memoryAdapterFactory(),
    clients: realm.clients.map(clientMetadata),
    jwks: { keys: [secrets.signingKey] },
    cookies: { keys: secrets.cookieKeys },
    routes: KEYCLOAK_ROUTES,
    scopes: SCOPES,
    responseTypes: ['code'],
    claims: {
      openid: ['sub'],
      profile: ['name', 'given_name', 'family_name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    discovery: { userinfo_endpoint: `${issuer}${KEYCLOAK_ROUTES.userinfo}` },
    ttl: {
      AccessToken: ttl,
      ClientCredentials: ttl,
      IdToken: ttl,
      AuthorizationCode: realm.accessCodeLifespan,
      Interaction: realm.loginLifespan,
      RefreshToken: realm.ssoSessionIdleTimeout,
      Session: realm.ssoSessionMaxLifespan,
      Grant: realm.ssoSessionMaxLifespan,
    },
    pkce: { required: (_ctx, client) => realm.client(client.clientId)?.pkceMethod !== undefined },
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    async findAccount(_ctx, sub) {
      const user = realm.userBySub(sub);
      if (!user) return undefined;
      return { accountId: sub, claims: async () => ({ ...profileClaims(user), sub }) };
    },
    async loadExistingGrant(ctx) {
      const { client, session } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = ctx.oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      const grant =
        (grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined) ??
        new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      // consentRequired is false for every realm client: grant what it may ask for.
      grant.addOIDCScope(SCOPES.join(' '));
      grant.addResourceScope(API_RESOURCE, SCOPES.join(' '));
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `${mountPath}/login-actions/${interaction.uid}` },
    clientBasedCORS: (_ctx, origin, client) =>
      realm.client(client.clientId)?.webOrigins.includes(origin) ?? false,
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Error</title><h1>${escapeHtml(String(out.error))}</h1><p>${escapeHtml(String(out.error_description ?? ''))}</p>`;
    },
    features: {
      devInteractions: { enabled: false },
      // Keycloak's userinfo accepts its JWT access tokens; served by userinfo.ts instead.
      userinfo: { enabled: false },
      clientCredentials: { enabled: true },
      rpInitiatedLogout: {
        enabled: true,
        // Keycloak ends the session without asking when the request carries a valid id_token_hint (the
        // site always sends one) and asks to confirm otherwise. oidc-provider validated the hint before
        // this runs (end_session.js endSessionChecks) and exposes it as the IdTokenHint entity: then the
        // form (xsrf + logout=yes) submits itself, as oidc-provider's own form_post does; <noscript> keeps
        // a button. Without a hint the confirmation page stays.
        logoutSource: (ctx, form) => {
          if (ctx.oidc.entities.IdTokenHint) {
            const autoForm = form.replace(
              '</form>',
              '<input type="hidden" name="logout" value="yes"/></form>',
            );
            ctx.body = `<!doctype html><title>Signing out</title>${autoForm}<script>document.forms[0].submit()</script><noscript><button form="op.logoutForm">Continue</button></noscript>`;
            return;
          }
          ctx.body = `<!doctype html><title>Sign out</title><h1>Sign out of ${escapeHtml(realm.name)}?</h1>${form}<button form="op.logoutForm" name="logout" value="yes">Sign out</button>`;
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.body = `<!doctype html><title>Signed out</title><h1>You are signed out of ${escapeHtml(realm.name)}.</h1>`;
        },
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => API_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resource) => {
          if (resource !== API_RESOURCE) throw new errors.InvalidTarget();
          return resourceServer;
        },
      },
    },
    formats: {
      customizers: {
        jwt: (_ctx, token, jwt) => {
          const accountId = 'accountId' in token ? (token.accountId as string | undefined) : undefined;
          jwt.header = { typ: 'JWT' };
          jwt.payload = keycloakAccessTokenClaims(
            realm,
            {
              clientId: token.clientId as string,
              accountId,
              scope: token.scope,
              sid: 'sid' in token ? (token.sid as string | undefined) : undefined,
            },
            jwt.payload,
          );
        },
      },
    },
  };
  const provider = new Provider(issuer, configuration);
  registerPasswordGrant(provider, realm, API_RESOURCE, resourceServer);
  return provider;
}
