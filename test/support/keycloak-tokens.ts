import { verifierFromSettings } from '../../functions/lib/auth/token-verifier.ts';
import type { Authenticator } from '../../functions/lib/http/types.ts';
import { createUser, passwordToken, type RealmUser, setUserRealmRoles } from '../setup/keycloak-client.ts';

export interface KeycloakTokens {
  /**
   * A bearer token from the real Keycloak for the test user `user` (created in the realm on first use as
   * `usernameOf(user)`), whose realm roles are exactly `roles` (default: viewer). One password grant per
   * user and role set, reused while it has more than 30 s to live.
   */
  sign(user: string, options?: { roles?: string[] }): Promise<string>;
  /** The `sub` (Keycloak's user id) of a user `sign` created. */
  subOf(user: string): string;
  /** The `preferred_username` of `user`: `<label>-<run id>-<user>`, lower case. */
  usernameOf(user: string): string;
  /** The production verifier (functions/lib/auth/token-verifier.ts) against the realm's JWKS. */
  readonly authenticate: Authenticator;
  /** Delete the users this file created. */
  close(): Promise<void>;
}

/**
 * Identities for integration tests from the suite's Keycloak, verified the way every function verifies
 * them in production (`verifierFromSettings`: the realm's JWKS, exact issuer, audience, ≤ 30 s leeway),
 * instead of a signer and verifier of the test's own (issue 18). A user's `name` claim is `Name <user>`.
 * @example const tokens = await keycloakTokens(env, 'rating'); headers.authorization = `Bearer ${await tokens.sign('alice')}`
 */
export async function keycloakTokens(env: Record<string, string>, label: string): Promise<KeycloakTokens> {
  const verifier = verifierFromSettings({
    OIDC_ISSUER: env.OIDC_ISSUER ?? '',
    OIDC_AUDIENCE: env.OIDC_AUDIENCE ?? 'isekai-api',
    ...(env.OIDC_JWKS_URI ? { OIDC_JWKS_URL: env.OIDC_JWKS_URI } : {}),
  });
  const prefix = `${label}-${env.TEST_RUN_ID ?? Date.now().toString(36)}`;
  const usernameOf = (user: string) => `${prefix}-${user}`.toLowerCase();
  const users = new Map<string, Promise<RealmUser>>();
  const subs = new Map<string, string>();
  /** The role set each user's Keycloak mappings hold now. */
  const mapped = new Map<string, string>();
  const tokens = new Map<string, Promise<{ token: string; expiresAt: number }>>();
  /** One grant at a time per user: changing its roles and taking a token must not interleave. */
  const queues = new Map<string, Promise<unknown>>();

  const issue = async (user: string, roles: readonly string[]) => {
    const roleKey = [...roles].sort().join(',');
    let created = users.get(user);
    if (!created) {
      created = createUser(env, usernameOf(user), [], { firstName: 'Name', lastName: user });
      users.set(user, created);
    }
    const realmUser = await created;
    subs.set(user, realmUser.id);
    if (mapped.get(user) !== roleKey) {
      await setUserRealmRoles(env, realmUser.id, roles);
      mapped.set(user, roleKey);
    }
    const response = await passwordToken(env, realmUser.username, realmUser.password);
    return { token: response.access_token, expiresAt: Date.now() + response.expires_in * 1000 };
  };

  return {
    async sign(user, options = {}) {
      const roles = options.roles ?? ['viewer'];
      const key = `${user}|${[...roles].sort().join(',')}`;
      const cached = tokens.get(key);
      if (cached) {
        const { token, expiresAt } = await cached;
        if (expiresAt - Date.now() > 30_000) return token;
      }
      const previous = queues.get(user) ?? Promise.resolve();
      const fresh = previous.catch(() => undefined).then(() => issue(user, roles));
      queues.set(user, fresh);
      tokens.set(key, fresh);
      return (await fresh).token;
    },
    subOf(user) {
      const sub = subs.get(user);
      if (!sub) throw new Error(`keycloakTokens: no token was signed for ${user} yet`);
      return sub;
    },
    usernameOf,
    authenticate: verifier.authenticate,
    async close() {
      const all = await Promise.allSettled(users.values());
      await Promise.all(
        all.map((r) => (r.status === 'fulfilled' ? r.value.remove().catch(() => undefined) : undefined)),
      );
    },
  };
}
