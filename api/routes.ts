/**
 * The route table: every public route of every HTTP function, from each function's own declaration
 * (`functions/<name>/api.ts`). The nginx locations (`nginx/locations.ts`), edge-auth's access rules
 * (`functions/edge-auth/rules.ts`) and the OpenAPI document (`api/openapi.json`) are generated from it;
 * `api/api.test.ts` fails when any of them drifts.
 */
import { CatalogApi } from '../functions/catalog/api.ts';
import { GroupsApi } from '../functions/groups/api.ts';
import { IntegratorIngressApi } from '../functions/integrator-ingress/api.ts';
import type { ApiTable, RouteSpec } from '../functions/lib/http/contract.ts';
import { LibraryApi } from '../functions/library/api.ts';
import { NotificationsApi } from '../functions/notifications/api.ts';
import { RateAnimeApi } from '../functions/rate-anime/api.ts';
import { SubtitlesApi } from '../functions/subtitles/api.ts';
import { UploadSubtitleApi } from '../functions/upload-subtitle/api.ts';

/** Which public server a function answers on: `api.<domain>` or `events.<domain>` (integrators). */
export type HostClass = 'api' | 'events';

export interface FunctionApi {
  /** The function's one name (folder, Knative Service, nginx upstream). */
  readonly fn: string;
  readonly host: HostClass;
  readonly routes: ApiTable;
}

/** Every HTTP function behind the edge and its table. */
export const FUNCTION_APIS: readonly FunctionApi[] = [
  { fn: 'catalog', host: 'api', routes: CatalogApi },
  { fn: 'rate-anime', host: 'api', routes: RateAnimeApi },
  { fn: 'library', host: 'api', routes: LibraryApi },
  { fn: 'subtitles', host: 'api', routes: SubtitlesApi },
  { fn: 'upload-subtitle', host: 'api', routes: UploadSubtitleApi },
  { fn: 'notifications', host: 'api', routes: NotificationsApi },
  { fn: 'groups', host: 'api', routes: GroupsApi },
  { fn: 'integrator-ingress', host: 'events', routes: IntegratorIngressApi },
];

/** One declared route with the function that serves it. */
export interface DeclaredRoute extends RouteSpec {
  readonly id: string;
  readonly fn: string;
  readonly host: HostClass;
}

/** Every declared route, flattened, in table order. */
export function declaredRoutes(apis: readonly FunctionApi[] = FUNCTION_APIS): DeclaredRoute[] {
  return apis.flatMap(({ fn, host, routes }) =>
    Object.entries(routes).map(([id, spec]) => ({ ...spec, id, fn, host })),
  );
}

const segments = (path: string) => path.split('/').filter(Boolean);

/**
 * Order paths as find-my-way matches them: at the first differing segment a static one wins over a
 * parameter (`/subtitles/reports` before `/subtitles/:id`). Used for nginx regex locations and
 * edge-auth's first-match rules, so both agree with the functions' routers.
 */
export function bySpecificity(a: string, b: string): number {
  const sa = segments(a);
  const sb = segments(b);
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    const pa = sa[i]?.startsWith(':') ?? false;
    const pb = sb[i]?.startsWith(':') ?? false;
    if (pa !== pb) return pa ? 1 : -1;
  }
  return sb.length - sa.length;
}

/**
 * The anchored regular expression of a path template (a trailing slash allowed, as the functions'
 * routers ignore it): `/anime/:id/rating` → `^/anime/[^/]+/rating/?$`.
 */
export function pathPattern(path: string): string {
  const body = segments(path)
    .map((s) => {
      if (s.startsWith(':')) return '[^/]+';
      // Declared paths are plain words; anything else would need escaping in two regex dialects.
      if (!/^[A-Za-z0-9_-]+$/.test(s)) throw new Error(`route path segment ${s} is not a plain word`);
      return s;
    })
    .join('/');
  return body === '' ? '^/$' : `^/${body}/?$`;
}
