/**
 * The signed-in viewer of a request: the access token to call the API with, refreshed with the refresh
 * token when it is about to expire. A failed refresh ends the sign-in (the viewer signs in again and comes
 * back to the same page).
 */
import type { Oidc } from './oidc.ts';
import { needsRefresh } from './oidc.ts';
import type { Session } from './session.ts';

/** The viewer's access token, refreshed if needed; undefined for anonymous visitors. */
export async function accessToken(
  session: Session,
  oidc: Oidc,
  now = Date.now(),
): Promise<string | undefined> {
  const tokens = session.data?.tokens;
  if (!tokens || !session.data?.user) return undefined;
  if (!needsRefresh(tokens, now)) return tokens.access;
  if (!tokens.refresh) {
    signOutLocally(session);
    return undefined;
  }
  try {
    const fresh = await oidc.refresh(tokens.refresh);
    session.update((d) => {
      d.tokens = fresh;
    });
    return fresh.access;
  } catch {
    signOutLocally(session);
    return undefined;
  }
}

/** Forget the tokens and the user, keeping the session (and its CSRF token) for the next sign-in. */
export function signOutLocally(session: Session): void {
  session.update((d) => {
    delete d.user;
    delete d.tokens;
  });
}

/** The sign-in URL that comes back to `path` afterwards. */
export const signInUrl = (path: string) => `/auth/login?returnTo=${encodeURIComponent(path)}`;
