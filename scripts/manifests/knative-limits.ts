/**
 * Knative Serving's admission rules for a Service, with the limits our own cluster sets
 * (k3s/platform/knative-serving-config.yaml: config-defaults, config-autoscaler) over the upstream
 * defaults of the pinned release. The webhook rejects a Service that breaks them; these checks see it
 * without a cluster. Sources: serving `pkg/apis/config/defaults.go`, `pkg/autoscaler/config/config.go`,
 * `pkg/apis/serving/v1/revision_validation.go`, `pkg/apis/autoscaling/annotation_validation.go`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { type Manifest, REPO_ROOT } from './load.ts';
import { json, knativeServices, where } from './pod-invariants.ts';

export const PLATFORM_SERVING_CONFIG = 'k3s/platform/knative-serving-config.yaml';

/** The limits the webhook applies, as numbers. */
export interface ServingLimits {
  /** config-defaults revision-timeout-seconds: what an unset timeoutSeconds becomes. */
  revisionTimeoutSeconds: number;
  /** config-defaults max-revision-timeout-seconds: the largest timeoutSeconds accepted. */
  maxRevisionTimeoutSeconds: number;
  /** config-defaults container-concurrency-max-limit. */
  containerConcurrencyMaxLimit: number;
  /** config-autoscaler max-scale-limit (0: unbounded, then max-scale 0 is allowed). */
  maxScaleLimit: number;
  /** config-autoscaler enable-scale-to-zero. */
  enableScaleToZero: boolean;
  /** config-autoscaler allow-zero-initial-scale. */
  allowZeroInitialScale: boolean;
}

/** Upstream defaults (Knative Serving 1.18) for keys our ConfigMaps leave out. */
const UPSTREAM: Record<'config-defaults' | 'config-autoscaler', Record<string, string>> = {
  'config-defaults': {
    'revision-timeout-seconds': '300',
    'max-revision-timeout-seconds': '600',
    'container-concurrency-max-limit': '1000',
  },
  'config-autoscaler': {
    'max-scale-limit': '0',
    'enable-scale-to-zero': 'true',
    'allow-zero-initial-scale': 'false',
  },
};

/** Reads config-defaults and config-autoscaler (namespace knative-serving) from a YAML text. */
export function servingLimits(yamlText: string): ServingLimits {
  const maps = new Map<string, Record<string, string>>();
  for (const doc of parseAllDocuments(yamlText)) {
    const o = doc.toJSON() as {
      kind?: string;
      metadata?: { name?: string; namespace?: string };
      data?: object;
    };
    if (o?.kind === 'ConfigMap' && o.metadata?.namespace === 'knative-serving' && o.metadata.name) {
      maps.set(o.metadata.name, (o.data ?? {}) as Record<string, string>);
    }
  }
  const get = (map: keyof typeof UPSTREAM, key: string): string =>
    maps.get(map)?.[key] ?? UPSTREAM[map][key] ?? '';
  const int = (map: keyof typeof UPSTREAM, key: string): number => {
    const v = get(map, key);
    if (!/^\d+$/.test(v)) throw new Error(`${map} ${key}: "${v}" is not a whole number`);
    return Number(v);
  };
  return {
    revisionTimeoutSeconds: int('config-defaults', 'revision-timeout-seconds'),
    maxRevisionTimeoutSeconds: int('config-defaults', 'max-revision-timeout-seconds'),
    containerConcurrencyMaxLimit: int('config-defaults', 'container-concurrency-max-limit'),
    maxScaleLimit: int('config-autoscaler', 'max-scale-limit'),
    enableScaleToZero: get('config-autoscaler', 'enable-scale-to-zero') === 'true',
    allowZeroInitialScale: get('config-autoscaler', 'allow-zero-initial-scale') === 'true',
  };
}

/** The limits of our cluster (k3s/platform). */
export function platformLimits(): ServingLimits {
  return servingLimits(readFileSync(join(REPO_ROOT, PLATFORM_SERVING_CONFIG), 'utf8'));
}

const A = 'autoscaling.knative.dev/';

/** Every Knative Service within `limits`: timeout, concurrency, scale bounds, initial scale, target. */
export function checkServingLimits(manifests: Manifest[], limits: ServingLimits): string[] {
  const out: string[] = [];
  if (limits.revisionTimeoutSeconds > limits.maxRevisionTimeoutSeconds) {
    out.push(
      `${PLATFORM_SERVING_CONFIG}: revision-timeout-seconds ${limits.revisionTimeoutSeconds} > max-revision-timeout-seconds ${limits.maxRevisionTimeoutSeconds}`,
    );
  }
  for (const [, m] of knativeServices(manifests)) {
    const at = where(m);
    const template = json(json(m.object.spec).template);
    const spec = json(template.spec);
    const notes = (json(template.metadata).annotations ?? {}) as Record<string, string>;
    const timeout =
      spec.timeoutSeconds === undefined ? limits.revisionTimeoutSeconds : Number(spec.timeoutSeconds);
    if (!(timeout >= 0 && timeout <= limits.maxRevisionTimeoutSeconds)) {
      out.push(
        `${at}: timeoutSeconds ${timeout} outside 0..${limits.maxRevisionTimeoutSeconds} (max-revision-timeout-seconds)`,
      );
    }
    const cc = spec.containerConcurrency === undefined ? 0 : Number(spec.containerConcurrency);
    if (!(cc >= 0 && cc <= limits.containerConcurrencyMaxLimit)) {
      out.push(`${at}: containerConcurrency ${cc} outside 0..${limits.containerConcurrencyMaxLimit}`);
    }
    const num = (key: string): number | undefined => {
      const v = notes[A + key];
      if (v === undefined) return undefined;
      if (!/^\d+(\.\d+)?$/.test(v)) {
        out.push(`${at}: ${A}${key} "${v}" is not a number`);
        return undefined;
      }
      return Number(v);
    };
    const min = num('min-scale') ?? 0;
    const max = num('max-scale') ?? 0;
    const initial = num('initial-scale');
    const target = num('target');
    if (limits.maxScaleLimit > 0 && (max === 0 || max > limits.maxScaleLimit)) {
      out.push(`${at}: max-scale ${max} must be 1..${limits.maxScaleLimit} (max-scale-limit)`);
    }
    if (max !== 0 && min > max) out.push(`${at}: min-scale ${min} > max-scale ${max}`);
    if (limits.maxScaleLimit > 0 && min > limits.maxScaleLimit) {
      out.push(`${at}: min-scale ${min} > max-scale-limit ${limits.maxScaleLimit}`);
    }
    if (initial === 0 && !limits.allowZeroInitialScale) {
      out.push(`${at}: initial-scale 0 needs allow-zero-initial-scale`);
    }
    if (initial !== undefined && max !== 0 && initial > max)
      out.push(`${at}: initial-scale ${initial} > max-scale ${max}`);
    if (min === 0 && !limits.enableScaleToZero) {
      out.push(`${at}: min-scale 0 but enable-scale-to-zero is false (it would never scale to zero)`);
    }
    if (target !== undefined && (target < 0.01 || (cc > 0 && target > cc))) {
      out.push(`${at}: target ${target} must be >= 0.01 and <= containerConcurrency ${cc}`);
    }
  }
  return out;
}
