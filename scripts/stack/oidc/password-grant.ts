import { createHash, timingSafeEqual } from 'node:crypto';
import type Provider from 'oidc-provider';
import type { ResourceServer } from 'oidc-provider';
import { errors } from 'oidc-provider';
import { tokenScope } from './claims.ts';
import type { Realm, RealmUser } from './realm.ts';

/** Constant-time password check against the realm export's dev credential. */
export function checkPassword(user: RealmUser | undefined, password: string): user is RealmUser {
  if (!user?.password) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(user.password), digest(password));
}

/**
 * DEV ONLY: the resource-owner password grant (Keycloak's "direct access grants") for clients that have
 * it enabled in the realm (isekai-dev-cli in the dev overlay), so tests and `curl` can get a token.
 */
export function registerPasswordGrant(
  provider: Provider,
  realm: Realm,
  resource: string,
  resourceServer: ResourceServer,
): void {
  provider.registerGrantType<{ username?: string; password?: string }>(
    'password',
    async (ctx) => {
      const { client, params } = ctx.oidc;
      if (!params.username) throw new errors.InvalidRequest('missing username');
      const realmClient = realm.client(client.clientId);
      if (!realmClient?.directAccessGrants)
        throw new errors.UnauthorizedClient('client not allowed for direct access grants');
      const user = realm.userByName(params.username);
      if (!checkPassword(user, params.password ?? ''))
        throw new errors.InvalidGrant('Invalid user credentials');

      const scope = [...new Set(['openid', ...(params.scope ?? '').split(' ').filter(Boolean)])].join(' ');
      const grant = new provider.Grant({ accountId: user.sub, clientId: client.clientId });
      grant.addOIDCScope(scope);
      grant.addResourceScope(resource, scope);
      const grantId = await grant.save();
      const token = new provider.AccessToken({
        accountId: user.sub,
        client,
        grantId,
        gty: 'password',
        scope,
      });
      token.resourceServer = new provider.ResourceServer(resource, resourceServer);
      ctx.oidc.entity('AccessToken', token);
      const value = await token.save();
      // Keycloak answers a direct access grant with a refresh token too (client setting "use refresh
      // tokens", on by default); oidc-provider's own refresh_token grant then serves the refresh.
      let refreshToken: string | undefined;
      if (client.grantTypeAllowed('refresh_token')) {
        const refresh = new provider.RefreshToken({
          accountId: user.sub,
          client,
          grantId,
          gty: 'password',
          scope,
          resource,
          rotations: 0,
        });
        ctx.oidc.entity('RefreshToken', refresh);
        refreshToken = await refresh.save();
      }
      ctx.body = {
        access_token: value,
        expires_in: token.expiration,
        token_type: 'Bearer',
        scope: tokenScope(realmClient, scope),
        ...(refreshToken
          ? { refresh_token: refreshToken, refresh_expires_in: realm.ssoSessionIdleTimeout }
          : {}),
      };
    },
    ['username', 'password', 'scope'],
  );
}
