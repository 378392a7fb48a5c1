/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    /** This request's session (src/lib/session.ts), loaded by the middleware and saved after the page. */
    session: import('./lib/session.ts').Session;
    /** The one-time message the previous request left (taken out of the session before the page renders). */
    flash?: import('./lib/session.ts').SessionData['flash'];
    /**
     * Why the middleware refused this form post (rendered by src/pages/form-refused.astro, status 403):
     * cross-site (origin check), signed-out (no signed-in session: it ended or expired), stale (a signed-in
     * session with another CSRF token); `returnTo` is the local page to go back to.
     */
    refused?: { reason: 'cross-site' | 'signed-out' | 'stale'; returnTo: string };
  }
}
