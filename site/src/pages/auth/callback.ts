import type { APIRoute } from 'astro';
import { publicUrl, seeOther } from '../../lib/http.ts';
import { loadProfile } from '../../lib/settings-page.ts';
import { site } from '../../lib/wiring.ts';

/** GET /auth/callback?code&state&iss — finish the sign-in: exchange the code, new session id, go back. */
export const GET: APIRoute = async ({ url, locals }) => {
  const { api, oidc, settings } = site();
  const pending = locals.session.data?.pending;
  if (!pending) return seeOther('/auth/login');
  if (url.searchParams.has('error')) {
    locals.session.update((d) => {
      delete d.pending;
      d.flash = { kind: 'error', text: 'Sign-in was cancelled or refused. You can try again.' };
    });
    return seeOther('/');
  }
  try {
    const { user, tokens } = await oidc.finish(publicUrl(url, settings.SITE_ORIGIN), pending);
    // The display name chosen in settings, for the header: a profile that cannot be read now (library
    // down, a first sign-in) leaves the token's name; sign-in never fails for it.
    const displayName = await loadProfile(api, tokens.access).then(
      (p) => p.displayName ?? undefined,
      () => undefined,
    );
    if (displayName) user.displayName = displayName;
    locals.session.rotate();
    locals.session.update((d) => {
      delete d.pending;
      d.user = user;
      d.tokens = tokens;
      d.signedInAt = Date.now();
      d.flash = { kind: 'ok', text: `Welcome, ${user.displayName ?? user.name}.` };
    });
    return seeOther(pending.returnTo);
  } catch (error) {
    process.stderr.write(
      `${JSON.stringify({ level: 'warn', msg: 'sign-in failed', err: error instanceof Error ? error.message : String(error) })}\n`,
    );
    locals.session.update((d) => {
      delete d.pending;
      d.flash = { kind: 'error', text: 'Sign-in did not complete. Please try again.' };
    });
    return seeOther('/');
  }
};
