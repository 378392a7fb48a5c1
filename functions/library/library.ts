import { backupStoreFromEnv } from '../lib/backups/backup-settings.ts';
import type { BackupStore } from '../lib/backups/backups.ts';
import { createHttpFunction, type HttpHandler } from '../lib/http/http-function.ts';
import type { AnyRoute } from '../lib/http/types.ts';
import { type TrackingDeps, type WiringOverrides, wireTracking } from '../lib/tracking/wiring.ts';
import { backupRoutes } from './backup-routes.ts';
import { listRoutes } from './list-routes.ts';
import { transferRoutes } from './transfer-routes.ts';

/** Every library route (the whole of `LibraryApi`): import/export, list, history, profile, backups. */
export function libraryRoutes(deps: TrackingDeps & { backups?: BackupStore | undefined }): AnyRoute[] {
  return [
    ...transferRoutes(deps),
    ...listRoutes(deps),
    ...backupRoutes({ db: deps.db, backups: deps.backups }),
  ];
}

/** The library function from its dependencies: list, history, profile, import/export, backups. */
export function createLibrary(deps: TrackingDeps & { backups?: BackupStore }): HttpHandler {
  return createHttpFunction({
    runtime: deps.runtime,
    routes: libraryRoutes(deps),
    authenticate: deps.authenticate,
  });
}

/** The library function wired from the environment (what index.ts registers). */
export function libraryFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides?: WiringOverrides,
): HttpHandler {
  const deps = wireTracking('library', env, overrides);
  return createLibrary({
    ...deps,
    backups: backupStoreFromEnv(deps.runtime, deps.db, env, { required: false }),
  });
}
