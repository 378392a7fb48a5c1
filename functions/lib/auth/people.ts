import type { Identity } from '../http/types.ts';

/**
 * The realm roles only people hold. Every account that signs up gets `viewer` (the realm's
 * `default-roles-isekai` composite); the others are granted by hand. The integrator client's service
 * account holds `integrator` only (knative/base/keycloak/realm-isekai.json, checked by
 * test/integration/keycloak.test.ts).
 */
export const PERSON_ROLES: readonly string[] = [
  'viewer',
  'uploader',
  'trusted-uploader',
  'moderator',
  'admin',
];

/**
 * Why `identity` may not use a `user` route (one that acts as a person: a list, a rating, a profile) or
 * send its token to an `optional` one (which then acts as that person), or undefined when it may. Two independent rules, so that neither a realm change nor a mapper change alone
 * lets a machine act as a user:
 * 1. a service-account token (client-credentials grant: the `service-account-<client>` username Keycloak
 *    gives every service account, or a `client_id` claim) is refused whatever its roles;
 * 2. the token must carry one of PERSON_ROLES.
 * edge-auth and the functions' `authorize` step both apply it, so the edge and the function agree.
 * @example personRefusal({ …, serviceAccount: true }) === 'a service-account (client credentials) token cannot act as a user'
 */
export function personRefusal(identity: Identity): string | undefined {
  if (identity.serviceAccount) return 'a service-account (client credentials) token cannot act as a user';
  if (!identity.roles.some((role) => PERSON_ROLES.includes(role))) {
    return `acting as a user needs one of the roles: ${PERSON_ROLES.join(', ')}`;
  }
  return undefined;
}
