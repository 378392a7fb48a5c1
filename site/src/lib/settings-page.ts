/**
 * The settings page's data and forms: the profile (library `GET/PATCH /me`: display name, preferred
 * subtitle languages), the linked identity (the ID token's claims from sign-in), and the notification
 * preferences when the API offers them. Each section is one entry of `SETTINGS_SECTIONS` so the page
 * grows by adding one.
 */
import {
  CHANNELS,
  EMAIL_MODES,
  type EmailMode,
  PREFERENCE_TYPES,
  type Preferences,
  type PreferenceType,
} from '../../../functions/lib/inbox/preferences.ts';
import { check } from '../../../functions/lib/validate.ts';
import { ProfileInput } from '../../../functions/library/schemas.ts';
import { type Api, ApiProblem } from './api.ts';
import { describeProblem, fieldOf } from './forms.ts';

export interface Profile {
  displayName: string | null;
  preferredSubtitleLanguages: string[];
  weeklyBackup: boolean;
  lastBackupAt: string | null;
}

/** The sections, in page order (id → heading). */
export const SETTINGS_SECTIONS = {
  profile: 'Profile',
  languages: 'Subtitle languages',
  notifications: 'Notifications',
  backups: 'Weekly backups',
  identity: 'Linked identity',
  sessions: 'Sign out everywhere',
} as const;

export const loadProfile = (api: Api, token: string) => api.json<Profile>({ path: '/me', token });

/** The profile form (display name, or the languages: a comma- or space-separated list of tags). */
export async function applyProfileForm(
  api: Api,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string; errors: Record<string, string> }> {
  const body: Record<string, unknown> = {};
  if (form.has('displayName')) body.displayName = String(form.get('displayName') ?? '').trim() || null;
  if (form.has('languages'))
    body.preferredSubtitleLanguages = [
      ...new Set(
        String(form.get('languages') ?? '')
          .split(/[\s,]+/)
          .filter(Boolean),
      ),
    ];
  try {
    check(ProfileInput, body, '/body');
    await api.json({ method: 'PATCH', path: '/me', token, json: body });
    return { ok: true, message: 'Your settings are saved.', errors: {} };
  } catch (error) {
    const issues = (error as { issues?: { field: string; message: string }[] }).issues;
    if (issues) {
      const errors: Record<string, string> = {};
      for (const i of issues) {
        const f = fieldOf(i.field);
        errors[f === 'displayName' ? 'displayName' : 'languages'] ??=
          f === 'displayName'
            ? 'A display name is 1 to 100 characters of text.'
            : 'Use language tags such as en, pt-BR or ja (at most 10).';
      }
      return { ok: false, message: 'Please check the highlighted field.', errors };
    }
    const described = describeProblem(error);
    // The library's own refusals (e.g. a display name that is another account's username) name the field.
    const refused =
      error instanceof ApiProblem ? error.errors.find((e) => fieldOf(e.field) === 'displayName') : undefined;
    if (refused)
      return {
        ok: false,
        message: 'Please check the highlighted field.',
        errors: { displayName: `This display name ${refused.message}.` },
      };
    return { ok: false, message: described.message, errors: {} };
  }
}

/** What each notification type is called on the page. */
export const PREFERENCE_LABELS: Record<PreferenceType, string> = {
  'subtitle.uploaded': 'New subtitles for anime on your list',
  'subtitle.next-episode': 'Subtitles for your next episode',
  'episode.aired': 'An episode you watch aired',
  'subtitle.removed': "Moderators' decisions on your uploads",
  'group.invited': 'Fansub group invitations',
  'group.release': 'Releases of groups you follow',
};
export const EMAIL_LABELS: Record<EmailMode, string> = {
  off: 'No e-mail',
  immediate: 'Right away',
  'daily-digest': 'Daily digest',
};

/** notifications `GET /me/notification-preferences`. */
export const loadNotificationPreferences = (api: Api, token: string) =>
  api.json<Preferences>({ path: '/me/notification-preferences', token });

/**
 * The notification preferences form: per type the checkboxes `<type>.inbox`, `<type>.live` (absent =
 * unchecked = off) and the select `<type>.email`; sent as a whole with `PUT /me/notification-preferences`.
 */
export async function applyNotificationPreferencesForm(
  api: Api,
  token: string,
  form: FormData,
): Promise<{ ok: boolean; message: string }> {
  const body: Record<string, Record<string, unknown>> = {};
  for (const type of PREFERENCE_TYPES) {
    const email = String(form.get(`${type}.email`) ?? 'off');
    if (!(EMAIL_MODES as readonly string[]).includes(email))
      return { ok: false, message: `Choose one of: ${EMAIL_MODES.map((m) => EMAIL_LABELS[m]).join(', ')}.` };
    body[type] = { inbox: form.has(`${type}.inbox`), live: form.has(`${type}.live`), email };
  }
  try {
    await api.json({ method: 'PUT', path: '/me/notification-preferences', token, json: body });
    return { ok: true, message: 'Your notification preferences are saved.' };
  } catch (error) {
    return { ok: false, message: describeProblem(error).message };
  }
}
export { CHANNELS, EMAIL_MODES, PREFERENCE_TYPES };

/** Display claims of the ID token received at sign-in (already verified then; read here, not trusted for access). */
export function identityClaims(idToken: string | undefined): Record<string, string> {
  if (!idToken) return {};
  try {
    const claims = JSON.parse(
      Buffer.from(idToken.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as Record<string, unknown>;
    const out: Record<string, string> = {};
    for (const k of ['iss', 'sub', 'preferred_username', 'email', 'name', 'identity_provider', 'auth_time'])
      if (claims[k] !== undefined)
        out[k] = k === 'auth_time' ? new Date(Number(claims[k]) * 1000).toISOString() : String(claims[k]);
    return out;
  } catch {
    return {};
  }
}

/**
 * End the user's other sessions at the identity provider: Keycloak's Account REST API
 * `DELETE {issuer}/account/sessions` with the user's own access token (audience `account`, role
 * `manage-account`, both in the realm's default scopes). It logs out every SSO session of the user except
 * the current one (which the RP-initiated logout ends next) and revokes their refresh tokens. Best effort:
 * false when the provider refused or is not Keycloak.
 */
export async function endProviderSessions(issuer: string, token: string): Promise<boolean> {
  try {
    const res = await fetch(`${issuer.replace(/\/$/, '')}/account/sessions`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}
