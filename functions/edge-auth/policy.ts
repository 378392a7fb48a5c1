/**
 * Coarse access rules the edge applies before a request reaches a function. Functions still verify the
 * token and apply their own fine-grained rules (whose list, whose upload); the edge only keeps anonymous
 * and under-privileged traffic away from what it cannot use.
 */
export type Requirement =
  | { kind: 'anonymous' }
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
const STAFF = ['moderator', 'admin'];

/** First match wins (nginx/render.ts turns these into the `$auth_class` map, in the same order). */
export const RULES: readonly Rule[] = [
  { host: 'events', path: /^\//, need: { kind: 'roles', roles: ['integrator'] } },
  { path: /^\/subtitles\/[^/]+\/moderation(\/|$)/, need: { kind: 'roles', roles: STAFF } },
  { path: /^\/subtitles\/reports(\/|$)/, methods: READ, need: { kind: 'roles', roles: STAFF } },
  {
    path: /^\/uploads(\/|$)/,
    methods: ['POST', 'PUT'],
    need: { kind: 'roles', roles: ['uploader', ...STAFF] },
  },
  { path: /^\/admin(\/|$)/, need: { kind: 'roles', roles: ['admin'] } },
  { path: /^\/(notifications|me)(\/|$)/, need: { kind: 'user' } },
  { path: /^\/library\/me(\/|$)/, need: { kind: 'user' } },
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
