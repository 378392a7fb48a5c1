/**
 * The request pipeline, in small named steps: security headers → session → CSRF token. Astro's own
 * origin check runs before these (cross-site form posts never reach them).
 */
import { defineMiddleware, sequence } from 'astro:middleware';
import { csrfMatches, needsCsrf, sentCsrf } from './lib/csrf.ts';
import { readCookie, Session, sessionCookie } from './lib/session.ts';
import { site, siteReady } from './lib/wiring.ts';

const NO_SESSION = /^\/(healthz|readyz|favicon\.ico)$/;

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
  if (!needsCsrf(context.request.method) || NO_SESSION.test(context.url.pathname)) return next();
  // Signing out with no session left (it expired) has nothing to protect: just go home.
  if (context.url.pathname === '/auth/logout' && !context.locals.session?.exists)
    return new Response(null, { status: 303, headers: { location: '/' } });
  const expected = context.locals.session?.data?.csrf;
  if (!csrfMatches(expected, await sentCsrf(context.request))) {
    return new Response(
      '<!doctype html><html lang="en"><meta charset="utf-8"><title>Form expired — Isekai</title><main><h1>This form has expired</h1><p>For your safety the form was not sent. Go back, reload the page and try again.</p><p><a href="/">Home</a></p></main></html>',
      { status: 403, headers: { 'content-type': 'text/html; charset=utf-8' } },
    );
  }
  return next();
});

export const onRequest = sequence(headers, session, csrf);
