/// <reference types="astro/client" />

declare namespace App {
  interface Locals {
    /** This request's session (src/lib/session.ts), loaded by the middleware and saved after the page. */
    session: import('./lib/session.ts').Session;
    /** The one-time message the previous request left (taken out of the session before the page renders). */
    flash?: import('./lib/session.ts').SessionData['flash'];
  }
}
