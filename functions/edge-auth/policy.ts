/**
 * Coarse access rules the edge applies before a request reaches a function. Functions still verify the
 * token and apply their own fine-grained rules (whose list, whose upload); the edge only keeps anonymous
 * and under-privileged traffic away from what it cannot use.
 *
 * The rules of declared routes are generated from the route table (`node api/render.ts` writes
 * rules.json; `api/api.test.ts` fails when it is stale); a short tail covers what no route declares.
 */
import generated from './rules.json' with { type: 'json' };

/**
 * `anonymous`: nothing (a token sent is still verified); `optional`: nothing, but a token sent must be a
 * person's; `user`: a person's token; `roles`: a token with one of the roles.
 */
export type Requirement =
  | { kind: 'anonymous' }
  | { kind: 'optional' }
  | { kind: 'user' }
  | { kind: 'roles'; roles: readonly string[] };

/** One access rule; exported so nginx/render.ts can key the edge's auth cache by the rule a request hits. */
export interface Rule {
  readonly host?: 'api' | 'events';
  readonly methods?: readonly string[];
  readonly path: RegExp;
  readonly need: Requirement;
}

const READ = ['GET', 'HEAD', 'OPTIONS'];

/** The declared routes' rules (most specific path first). */
export const ROUTE_RULES: readonly Rule[] = (
  generated as { host: 'api' | 'events'; methods: string[]; path: string; need: Requirement }[]
).map((rule) => ({ ...rule, path: new RegExp(rule.path) }));

/**
 * First match wins (nginx/render.ts turns these into the `$auth_class` map, in the same order). After the
 * declared routes: anything else on the events host needs the integrator role; elsewhere an undeclared
 * read passes (nginx or the function answers 404/405) and an undeclared write needs a user.
 */
export const RULES: readonly Rule[] = [
  ...ROUTE_RULES,
  { host: 'events', path: /^\//, need: { kind: 'roles', roles: ['integrator'] } },
  { methods: READ, path: /^\//, need: { kind: 'anonymous' } },
  { path: /^\//, need: { kind: 'user' } },
];

/** What the request needs, from the original host class, method and path nginx forwards. */
export function requirementFor(host: 'api' | 'events', method: string, path: string): Requirement {
  const upper = method.toUpperCase();
  for (const rule of RULES) {
    if (rule.host !== undefined && rule.host !== host) continue;
    if (rule.methods !== undefined && !rule.methods.includes(upper)) continue;
    if (rule.path.test(path)) return rule.need;
  }
  return { kind: 'user' };
}
