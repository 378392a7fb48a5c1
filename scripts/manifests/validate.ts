/**
 * Schema validation of one Kubernetes object: core and Knative kinds through kubernetes-models
 * (generated from the upstream OpenAPI / CRD schemas), other custom resources through crd-schemas.ts.
 * An object of a kind neither knows is an error: nothing reaches the cluster unchecked.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import { CRD_SCHEMAS } from './crd-schemas.ts';
import type { KubeObject } from './load.ts';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

const KNATIVE_GROUPS = new Set([
  'serving.knative.dev',
  'eventing.knative.dev',
  'sources.knative.dev',
  'messaging.knative.dev',
]);

const ajv = new Ajv({ allErrors: true, strict: false });
const compiled = new Map<string, ValidateFunction>();
const models = new Map<string, ModelClass | undefined>();

/** The npm module path of the kubernetes-models class for `apiVersion`/`kind`, if one should exist. */
export function modelModule(apiVersion: string, kind: string): string | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  if (!group) return `kubernetes-models/${version}/${kind}`;
  if (KNATIVE_GROUPS.has(group)) return `@kubernetes-models/knative/${group}/${version}/${kind}`;
  if (group.endsWith('.k8s.io') || ['apps', 'batch', 'policy', 'autoscaling'].includes(group)) {
    return `kubernetes-models/${group}/${version}/${kind}`;
  }
  return undefined;
}

async function model(apiVersion: string, kind: string): Promise<ModelClass | undefined> {
  const key = `${apiVersion}/${kind}`;
  if (!models.has(key)) {
    const path = modelModule(apiVersion, kind);
    let cls: ModelClass | undefined;
    if (path) {
      try {
        cls = ((await import(path)) as Record<string, ModelClass>)[kind];
      } catch {
        cls = undefined;
      }
    }
    models.set(key, cls);
  }
  return models.get(key);
}

/** Schema errors of `object` (empty when valid), each prefixed with the JSON path. */
export async function validateObject(object: KubeObject): Promise<string[]> {
  const key = `${object.apiVersion}/${object.kind}`;
  const crd = CRD_SCHEMAS[key];
  if (crd) {
    let fn = compiled.get(key);
    if (!fn) {
      fn = ajv.compile(crd);
      compiled.set(key, fn);
    }
    if (fn(object)) return [];
    return (fn.errors ?? []).map((e) =>
      `${e.instancePath || '/'} ${e.message ?? 'invalid'} ${paramsOf(e.params)}`.trim(),
    );
  }
  const cls = await model(object.apiVersion, object.kind);
  if (!cls) return [`no schema for ${key}: add a model or a schema in crd-schemas.ts`];
  try {
    new cls(unwrapSecretData(object)).validate();
    return [];
  } catch (error) {
    return String(error instanceof Error ? error.message : error)
      .split(', data')
      .map((m, i) => (i === 0 ? m : `data${m}`));
  }
}

/**
 * kustomize folds long base64 Secret values over several lines; the API server's decoder (Go's
 * encoding/base64) skips line breaks, the models' `byte` format does not, so they are removed first.
 */
function unwrapSecretData(object: KubeObject): KubeObject {
  if (
    object.apiVersion !== 'v1' ||
    object.kind !== 'Secret' ||
    typeof object.data !== 'object' ||
    !object.data
  ) {
    return object;
  }
  const data = Object.fromEntries(
    Object.entries(object.data as Record<string, unknown>).map(([k, v]) => [
      k,
      typeof v === 'string' ? v.replace(/[\r\n]/g, '') : v,
    ]),
  );
  return { ...object, data };
}

function paramsOf(params: Record<string, unknown>): string {
  const entries = Object.entries(params);
  return entries.length === 0 ? '' : `(${entries.map(([k, v]) => `${k}: ${String(v)}`).join(', ')})`;
}
