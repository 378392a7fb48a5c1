import { type TrackingDeps, type WiringOverrides, wireTracking } from '../catalog/settings.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import { listRoutes } from './list-routes.ts';
import { transferRoutes } from './transfer-routes.ts';

/** The library function from its dependencies: list, history, profile, import/export. */
export function createLibrary(deps: TrackingDeps): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: [...transferRoutes(deps), ...listRoutes(deps)],
    authenticate: deps.authenticate,
  });
}

/** The library function wired from the environment (what index.ts registers). */
export function libraryFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides?: WiringOverrides,
): HttpHandler {
  return createLibrary(wireTracking('library', env, overrides));
}
