/**
 * The request pipeline, in small named steps: origin check → security headers → session → CSRF token.
 * The origin check is Astro's own rule (`security.checkOrigin` is off so that this one runs instead and
 * answers with the site's 403 page): a cross-site form post never reaches a page. A refused post is
 * rewritten to src/pages/form-refused.astro (403, the site's layout, a way back).
 */
import { defineMiddleware, sequence } from 'astro:middleware';
import { csrfMatches, isCrossSiteFormPost, needsCsrf, refusedFormPage, sentCsrf } from './lib/csrf.ts';
import { readCookie, Session, sessionCookie } from './lib/session.ts';
import { site, siteReady } from './lib/wiring.ts';

const NO_SESSION = /^\/(healthz|readyz|favicon\.ico|favicon\.svg)$/;

/** The page every refused form post is rewritten to (it answers 403). */
const REFUSED_PAGE = '/form-refused';

/** Cross-site form posts (Astro's checkOrigin rule, src/lib/csrf.ts) get the site's 403 page. */
const origin = defineMiddleware(async (context, next) => {
  if (!isCrossSiteFormPost(context.request, context.url)) return next();
  context.locals.refused = { reason: 'cross-site', returnTo: refusedFormPage(context.request, context.url) };
  return next(REFUSED_PAGE);
});

/** Headers every page gets; personal pages are never cached, public ones briefly (by the edge too). */
const headers = defineMiddleware(async (context, next) => {
  const response = await next();
  const h = response.headers;
  h.set('x-content-type-options', 'nosniff');
  h.set('referrer-policy', 'strict-origin-when-cross-origin');
  h.set('x-frame-options', 'DENY');
  h.set('permissions-policy', 'camera=(), microphone=(), geolocation=()');
  if (!h.has('cache-control')) {
    const personal =
      context.locals.session?.exists || context.request.method !== 'GET' || response.status >= 300;
    h.set('cache-control', personal ? 'private, no-store' : 'public, max-age=30');
  }
  h.append('vary', 'Cookie');
  return response;
});

/** Load the session from its cookie; save it after the page and set or clear the cookie. */
const session = defineMiddleware(async (context, next) => {
  await siteReady();
  if (NO_SESSION.test(context.url.pathname)) return next();
  const { settings, sessions } = site();
  const id = readCookie(context.request.headers.get('cookie'), settings.SESSION_COOKIE);
  const current = await Session.load(sessions, settings.SESSION_TTL_SECONDS, id);
  context.locals.session = current;
  // Signed out everywhere since this session signed in: it ends here (src/pages/me/settings.astro).
  const user = current.data?.user;
  if (user && (current.data?.signedInAt ?? 0) < (await sessions.revokedBefore(user.sub)))
    current.update((d) => {
      delete d.user;
      delete d.tokens;
    });
  const flash = current.data?.flash;
  if (flash && context.request.method === 'GET') {
    context.locals.flash = flash;
    current.update((d) => {
      delete d.flash;
    });
  }
  const response = await next();
  const action = await current.commit();
  if (action) {
    const value =
      'set' in action
        ? sessionCookie(settings.SESSION_COOKIE, action.set)
        : sessionCookie(settings.SESSION_COOKIE, undefined);
    response.headers.append('set-cookie', value);
  }
  return response;
});

/** Every state-changing request carries the session's CSRF token. */
const csrf = defineMiddleware(async (context, next) => {
  if (context.locals.refused) return next();
  if (!needsCsrf(context.request.method) || NO_SESSION.test(context.url.pathname)) return next();
  // Signing out with no session left (it expired) has nothing to protect: just go home.
  if (context.url.pathname === '/auth/logout' && !context.locals.session?.exists)
    return new Response(null, { status: 303, headers: { location: '/' } });
  const expected = context.locals.session?.data?.csrf;
  if (!csrfMatches(expected, await sentCsrf(context.request))) {
    // The session ended (its Redis key expired or was removed) or never signed in: sign in again and come
    // back; a signed-in session with another token: the page was older than the session.
    const reason = context.locals.session?.data?.user ? 'stale' : 'signed-out';
    context.locals.refused = { reason, returnTo: refusedFormPage(context.request, context.url) };
    return next(REFUSED_PAGE);
  }
  return next();
});

export const onRequest = sequence(origin, headers, session, csrf);
