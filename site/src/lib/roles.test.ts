import { describe, expect, it } from 'vitest';
import { roleNames } from './roles.ts';

describe('roleNames: the roles a person is shown', () => {
  it("Keycloak's own roles are left out; the product's are named in words", () => {
    expect(
      roleNames([
        'default-roles-isekai',
        'offline_access',
        'uma_authorization',
        'trusted-uploader',
        'viewer',
        'moderator',
      ]),
    ).toEqual(['Viewer', 'Trusted uploader', 'Moderator']);
  });

  it('a machine role is not a person role', () => {
    expect(roleNames(['integrator', 'offline_access'])).toEqual([]);
  });
});
