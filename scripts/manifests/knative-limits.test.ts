import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkServingLimits, platformLimits, type ServingLimits, servingLimits } from './knative-limits.ts';
import { renderKustomize } from './kustomize.ts';
import { loadManifests, type Manifest, REPO_ROOT } from './load.ts';
import { knativeServices } from './pod-invariants.ts';

const limits = platformLimits();
const roots = ['knative/base', 'knative/overlays/production', 'knative/overlays/local'];

describe("Knative Serving's admission limits, as our k3s/platform sets them", () => {
  it('reads config-defaults and config-autoscaler from k3s/platform', () => {
    expect(limits).toEqual<ServingLimits>({
      revisionTimeoutSeconds: 300,
      maxRevisionTimeoutSeconds: 600,
      containerConcurrencyMaxLimit: 1000,
      maxScaleLimit: 20,
      enableScaleToZero: true,
      allowZeroInitialScale: false,
    });
  });

  it('falls back to the upstream defaults for keys left out', () => {
    expect(
      servingLimits('kind: ConfigMap\nmetadata: {name: config-defaults, namespace: knative-serving}\n'),
    ).toEqual(expect.objectContaining({ maxRevisionTimeoutSeconds: 600, maxScaleLimit: 0 }));
  });

  it.each(roots)('every Knative Service rendered from %s is within them', (root) => {
    const rendered = renderKustomize(join(REPO_ROOT, root));
    expect(knativeServices(rendered).size).toBeGreaterThanOrEqual(12);
    expect(checkServingLimits(rendered, limits)).toEqual([]);
  });
});

// biome-ignore lint/suspicious/noExplicitAny: the tests mutate parsed YAML at arbitrary depth
type Json = Record<string, any>;
const base = loadManifests();
function breaking(name: string, mutate: (template: Json) => void): Manifest[] {
  const copy = structuredClone(base);
  const m = copy.find(
    (x) =>
      x.object.kind === 'Service' &&
      x.object.apiVersion.startsWith('serving.knative.dev/') &&
      x.object.metadata.name === name,
  );
  if (!m) throw new Error(`no ksvc ${name}`);
  mutate((m.object.spec as Json).template as Json);
  return copy;
}

describe('the limits check catches what the webhook would reject', () => {
  it.each<[string, string, (t: Json) => void, RegExp]>([
    [
      'timeoutSeconds 900 > 600 (the library-backup fault)',
      'library-backup',
      (t) => {
        t.spec.timeoutSeconds = 900;
      },
      /timeoutSeconds 900 outside 0\.\.600/,
    ],
    [
      'containerConcurrency past the limit',
      'catalog',
      (t) => {
        t.spec.containerConcurrency = 5000;
      },
      /containerConcurrency 5000/,
    ],
    [
      'max-scale past max-scale-limit',
      'catalog',
      (t) => {
        t.metadata.annotations['autoscaling.knative.dev/max-scale'] = '50';
      },
      /max-scale 50 must be 1\.\.20/,
    ],
    [
      'no max-scale while max-scale-limit is set',
      'notify',
      (t) => {
        delete t.metadata.annotations['autoscaling.knative.dev/max-scale'];
      },
      /max-scale 0 must be/,
    ],
    [
      'min-scale above max-scale',
      'library',
      (t) => {
        t.metadata.annotations['autoscaling.knative.dev/min-scale'] = '11';
      },
      /min-scale 11 > max-scale 10/,
    ],
    [
      'initial-scale 0 without allow-zero-initial-scale',
      'notify',
      (t) => {
        t.metadata.annotations['autoscaling.knative.dev/initial-scale'] = '0';
      },
      /initial-scale 0/,
    ],
    [
      'a target above containerConcurrency',
      'library',
      (t) => {
        t.metadata.annotations['autoscaling.knative.dev/target'] = '80';
      },
      /target 80/,
    ],
  ])('%s', (_n, name, mutate, message) => {
    expect(checkServingLimits(breaking(name, mutate), limits).join('\n')).toMatch(message);
  });

  it('an unset timeout takes revision-timeout-seconds, which must itself fit', () => {
    expect(checkServingLimits([], { ...limits, revisionTimeoutSeconds: 700 }).join('\n')).toMatch(
      /revision-timeout-seconds 700 > max-revision-timeout-seconds 600/,
    );
  });

  it('scale-to-zero Services need enable-scale-to-zero', () => {
    expect(checkServingLimits(base, { ...limits, enableScaleToZero: false }).join('\n')).toMatch(
      /enable-scale-to-zero/,
    );
  });
});
