/**
 * edge-auth's access rules from the route table: one rule per (host, path, requirement), methods merged,
 * most specific path first (as the functions' routers match). Written to functions/edge-auth/rules.json by
 * `node api/render.ts`, so edge-auth keeps importing nothing outside its folder and functions/lib.
 */
import type { Access } from '../functions/lib/http/types.ts';
import { bySpecificity, type DeclaredRoute, declaredRoutes, type HostClass, pathPattern } from './routes.ts';

type Need =
  | { kind: 'anonymous' }
  | { kind: 'optional' }
  | { kind: 'user' }
  | { kind: 'roles'; roles: readonly string[] };

interface GeneratedRule {
  readonly host: HostClass;
  readonly methods: string[];
  readonly pattern: string;
  readonly need: Need;
  readonly path: string;
}

/**
 * What the edge requires for a route's access rule: `optional` lets anonymous callers through and refuses
 * a token that is not a person's, as `user` does (`functions/lib/auth/people.ts`).
 */
export function needOf(access: Access): Need {
  if (access === 'public') return { kind: 'anonymous' };
  if (access === 'optional') return { kind: 'optional' };
  if (access === 'user') return { kind: 'user' };
  return { kind: 'roles', roles: [...access.roles] };
}

/** The rules, in match order. */
export function edgeRules(routes: readonly DeclaredRoute[] = declaredRoutes()): GeneratedRule[] {
  const rules = new Map<string, GeneratedRule>();
  for (const route of routes) {
    const need = needOf(route.access);
    const pattern = pathPattern(route.path);
    const key = `${route.host} ${pattern} ${JSON.stringify(need)}`;
    const rule = rules.get(key) ?? { host: route.host, methods: [], pattern, need, path: route.path };
    rule.methods.push(route.method, ...(route.method === 'GET' ? ['HEAD'] : []));
    rules.set(key, rule);
  }
  return [...rules.values()].sort((a, b) => bySpecificity(a.path, b.path));
}

/** functions/edge-auth/rules.json, as text (patterns as strings; policy.ts compiles them). */
export function renderEdgeRules(routes: readonly DeclaredRoute[] = declaredRoutes()): string {
  const rules = edgeRules(routes).map(({ host, methods, pattern, need }) => ({
    host,
    methods,
    path: pattern,
    need,
  }));
  return `${JSON.stringify(rules, null, 2)}\n`;
}
