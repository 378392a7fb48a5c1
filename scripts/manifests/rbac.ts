/** RBAC evaluation over manifests: does a Role grant a verb on a resource? (Kubernetes' rule matching.) */
import type { Manifest } from './load.ts';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  verbs?: string[];
  resourceNames?: string[];
}

/** True when Role `namespace/name` in `manifests` grants `verb` on `group`/`resource` (any object name). */
export function roleAllows(
  manifests: Manifest[],
  namespace: string,
  name: string,
  verb: string,
  group: string,
  resource: string,
): boolean {
  const role = manifests.find(
    (m) =>
      m.object.kind === 'Role' &&
      m.object.metadata.name === name &&
      m.object.metadata.namespace === namespace,
  );
  const rules = ((role?.object as { rules?: Rule[] } | undefined)?.rules ?? []) as Rule[];
  const has = (list: string[] | undefined, value: string) =>
    !!list && (list.includes('*') || list.includes(value));
  return rules.some(
    (r) =>
      has(r.apiGroups, group) &&
      has(r.resources, resource) &&
      has(r.verbs, verb) &&
      (r.resourceNames === undefined || r.resourceNames.length === 0),
  );
}
