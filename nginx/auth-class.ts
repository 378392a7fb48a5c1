/**
 * `$auth_class`: the rule of functions/edge-auth/policy.ts RULES a request hits (first match, same regexes,
 * same order), so one cached auth answer serves every URI the policy treats alike. Rendered as nested maps:
 * the path's first segment picks a group by hash lookup, and only that group's rules are tried in order —
 * the rules whose path starts with that literal segment and those that start with a parameter or match any
 * path. A rule left out of a group cannot match a path of that group, so the first match is the same as over
 * all RULES (`nginx/auth-class.test.ts` checks it in a real nginx against the flat map, `flatAuthClassMap`).
 */
import { RULES, type Rule } from '../functions/edge-auth/policy.ts';

/** The key every `$auth_class` map matches: `api GET /anime/1`. */
const KEY = '"$edge_class $request_method $edge_uri"';

/** A rule's map pattern: `~^<host> <methods> <path>` (host and methods as the rule restricts them). */
function pattern(rule: Rule): string {
  const host = rule.host ?? '[a-z]+';
  const methods = rule.methods ? `(?:${rule.methods.join('|')})` : '[A-Z]+';
  const path = rule.path.source.replace(/^\^/, '');
  return `~^${host} ${methods} ${path}`;
}

const line = (index: number) => `    "${pattern(RULES[index] as Rule)}" rule${index};`;

/**
 * The literal first path segment every path a rule matches has (`^\/anime\/[^/]+\/?$` → `anime`;
 * `^\/$` → ''), or undefined when the rule can match paths of any first segment (`^\/`, `^\/[^/]+\/x`).
 */
export function firstSegment(rule: Rule): string | undefined {
  // The literal, then a slash that must follow (not `\/?x`, `\/*`…), or an optional slash and the end, or
  // the end.
  const m = /^\^\\\/([a-z0-9_-]*)(?:\\\/(?![?*+{])|\\\/\?\$$|\$$)/.exec(rule.path.source);
  return m ? m[1] : undefined;
}

/** One map: RULES[indexes] in order, then `fallback`. */
function map(variable: string, indexes: readonly number[]): string {
  return [`  map ${KEY} ${variable} {`, ...indexes.map(line), '    default fallback;', '  }'].join('\n');
}

/** The flat map over every rule (what the nested maps must equal); `$auth_class_flat` in the check. */
export function flatAuthClassMap(variable = '$auth_class'): string {
  return map(
    variable,
    RULES.map((_r, i) => i),
  );
}

/** The nested maps: the first segment of `$edge_uri` → its group's map → `$auth_class`. */
export function authClassMaps(): string {
  const segments = [
    ...new Set(RULES.map(firstSegment).filter((s): s is string => s !== undefined && s !== '')),
  ];
  const group = (segment: string | undefined) =>
    RULES.flatMap((rule, i) => {
      const own = firstSegment(rule);
      return own === undefined || own === segment ? [i] : [];
    });
  const name = (segment: string) => `$auth_class_${segment.replaceAll('-', '_')}`;
  return [
    // nginx compares a map's plain keys after lower-casing the value; every literal segment is lower-case
    // (firstSegment only takes [a-z0-9_-]), and a rule's own regex stays case-sensitive.
    '  map $edge_uri $edge_uri_head {',
    '    "~^/(?<edge_head>[^/]*)" $edge_head;',
    '    default "";',
    '  }',
    '  map $edge_uri_head $auth_class {',
    ...segments.map((s) => `    ${s} ${name(s)};`),
    '    default $auth_class_other;',
    '  }',
    ...segments.map((s) => map(name(s), group(s))),
    // '' (the path `/`) and every segment no rule names: only the rules open to any first segment, plus
    // those naming ''.
    map('$auth_class_other', group('')),
  ].join('\n');
}
