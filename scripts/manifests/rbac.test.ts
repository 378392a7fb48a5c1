import { describe, expect, it } from 'vitest';
import { loadManifests } from './load.ts';
import { roleAllows } from './rbac.ts';

const base = loadManifests();

/** What operators run in namespace isekai (knative/README.md "Schema migrations", k3s/RUNBOOK.md). */
const OPERATIONS: [string, string, string, string][] = [
  ['kubectl delete job schema-migrate', 'delete', 'batch', 'jobs'],
  ['kubectl apply -l app.kubernetes.io/name=schema-migrate (get, create, patch)', 'create', 'batch', 'jobs'],
  ['kubectl apply of an existing Job', 'patch', 'batch', 'jobs'],
  ['kubectl wait --for=condition=complete job/schema-migrate', 'watch', 'batch', 'jobs'],
  ['kubectl create job … --from=job/schema-migrate', 'get', 'batch', 'jobs'],
  ['kubectl logs job/schema-migrate', 'get', '', 'pods/log'],
  ['kn service update --traffic', 'update', 'serving.knative.dev', 'services'],
  ['kn revision list', 'list', 'serving.knative.dev', 'revisions'],
  ['kn trigger list', 'list', 'eventing.knative.dev', 'triggers'],
  ['kn broker describe default', 'get', 'eventing.knative.dev', 'brokers'],
];

describe('isekai-operator Role grants what the documented operations need', () => {
  it.each(OPERATIONS)('%s', (_what, verb, group, resource) => {
    expect(roleAllows(base, 'isekai', 'isekai-operator', verb, group, resource)).toBe(true);
  });

  it('grants nothing on Secrets (credentials live in Vault)', () => {
    for (const verb of ['get', 'list', 'watch', 'create'])
      expect(roleAllows(base, 'isekai', 'isekai-operator', verb, '', 'secrets')).toBe(false);
  });

  it('catches a Role without batch/jobs (the fault this test was written for)', () => {
    const copy = structuredClone(base);
    const role = copy.find((m) => m.object.kind === 'Role' && m.object.metadata.name === 'isekai-operator');
    if (!role) throw new Error('no isekai-operator Role');
    const object = role.object as unknown as { rules: { apiGroups: string[] }[] };
    object.rules = object.rules.filter((r) => !r.apiGroups.includes('batch'));
    expect(roleAllows(copy, 'isekai', 'isekai-operator', 'create', 'batch', 'jobs')).toBe(false);
  });
});
