/**
 * The product's roles as people read them. A token's realm roles also hold Keycloak's own
 * (`default-roles-isekai`, `offline_access`, `uma_authorization`) and, for machines, `integrator`: only
 * the roles a person holds in Isekai (functions/lib/auth/people.ts PERSON_ROLES) are shown, by name.
 */
import { PERSON_ROLES } from '../../../functions/lib/auth/people.ts';

/** What each person role is called on the site. */
export const ROLE_NAMES: Record<string, string> = {
  viewer: 'Viewer',
  uploader: 'Uploader',
  'trusted-uploader': 'Trusted uploader',
  moderator: 'Moderator',
  admin: 'Administrator',
};

/**
 * The viewer's roles in plain names, in PERSON_ROLES order (least to most), Keycloak's own left out.
 * @example roleNames(['offline_access', 'moderator', 'default-roles-isekai', 'viewer']) // ['Viewer', 'Moderator']
 */
export function roleNames(roles: readonly string[]): string[] {
  return PERSON_ROLES.filter((role) => roles.includes(role)).map((role) => ROLE_NAMES[role] ?? role);
}
