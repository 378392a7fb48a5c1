import { describe, expect, it } from 'vitest';
import { catalogRoutes } from '../functions/catalog/catalog.ts';
import { groupsRoutes } from '../functions/groups/groups.ts';
import { ingressRoutes } from '../functions/integrator-ingress/ingress.ts';
import type { AnyRoute } from '../functions/lib/http/types.ts';
import { libraryRoutes } from '../functions/library/library.ts';
import { notificationRoutes } from '../functions/notifications/settings.ts';
import { rateAnimeRoutes } from '../functions/rate-anime/rate-anime.ts';
import { subtitleRoutes } from '../functions/subtitles/subtitles.ts';
import { uploadRoutes } from '../functions/upload-subtitle/upload-subtitle.ts';
import { FUNCTION_APIS } from './routes.ts';

/**
 * The other side of the table: what each function actually registers with its router is exactly its
 * declared table — no route served that the edge and the document do not know, none declared but missing.
 * Routes are built with inert dependencies (handlers are not called here).
 */
const inert = { runtime: { log: {}, tracing: {} } } as never;
const served: Record<string, AnyRoute[]> = {
  catalog: catalogRoutes(inert),
  'rate-anime': rateAnimeRoutes(inert),
  library: libraryRoutes(inert),
  subtitles: subtitleRoutes(inert),
  'upload-subtitle': uploadRoutes(inert),
  notifications: notificationRoutes(inert),
  groups: groupsRoutes(inert),
  'integrator-ingress': ingressRoutes(inert),
};

const shape = (r: {
  method: unknown;
  path: string;
  access?: unknown;
  bodyLimit?: number;
  raw?: boolean;
}) => ({
  method: r.method,
  path: r.path,
  access: r.access,
  bodyLimit: r.bodyLimit,
  raw: r.raw ?? false,
});

describe('each function serves exactly its declared routes', () => {
  it.each(FUNCTION_APIS.map((api) => [api.fn, api] as const))('%s', (fn, api) => {
    const routes = served[fn] ?? [];
    const declared = Object.values(api.routes).map((spec) => shape({ ...spec, raw: spec.raw ?? false }));
    expect(routes.map(shape)).toEqual(declared);
  });
});
