/**
 * Invariants on objects and pod templates. Each check returns human-readable violations
 * (`<file>#<doc> <Kind>/<name>: <what>`); an empty list means the rule holds.
 */
import { FUNCTIONS, JOBS, WRITABLE_ROOT_ALLOWED } from './function-specs.ts';
import { type KubeObject, type Manifest, ofKind } from './load.ts';

type Json = Record<string, unknown>;

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
  'CustomResourceDefinition',
  'PersistentVolume',
  'PriorityClass',
]);
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Fields Knative Serving's webhook accepts on a container (serving `fieldmask.go` ContainerMask). */
const KNATIVE_CONTAINER_FIELDS = new Set([
  'name',
  'args',
  'command',
  'env',
  'workingDir',
  'envFrom',
  'image',
  'imagePullPolicy',
  'livenessProbe',
  'ports',
  'readinessProbe',
  'startupProbe',
  'resources',
  'securityContext',
  'terminationMessagePath',
  'terminationMessagePolicy',
  'volumeMounts',
]);
/** Fields Knative accepts on the revision's pod spec with default feature flags (PodSpecMask + RevisionSpec). */
const KNATIVE_POD_FIELDS = new Set([
  'serviceAccountName',
  'containers',
  'volumes',
  'imagePullSecrets',
  'enableServiceLinks',
  'containerConcurrency',
  'timeoutSeconds',
  'responseStartTimeoutSeconds',
  'idleTimeoutSeconds',
]);

/** `<file>#<doc> <Kind>/<name>`, the prefix of every violation. */
export function where(m: Manifest): string {
  return `${m.file}#${m.index} ${m.object.kind}/${m.object.metadata.name}`;
}

/** Every namespaced object names its namespace explicitly. */
export function checkNamespaces(manifests: Manifest[]): string[] {
  return manifests
    .filter((m) => !CLUSTER_SCOPED.has(m.object.kind) && !m.object.metadata.namespace)
    .map((m) => `${where(m)}: no metadata.namespace`);
}

/** Names are lowercase kebab-case DNS labels of at most 63 characters. */
export function checkNames(manifests: Manifest[]): string[] {
  return manifests
    .filter(({ object: { metadata } }) => metadata.name.length > 63 || !DNS_LABEL.test(metadata.name))
    .map((m) => `${where(m)}: name is not kebab-case <= 63 chars`);
}

/** Knative Services of the functions, by name. */
export function knativeServices(manifests: Manifest[]): Map<string, Manifest> {
  return new Map(ofKind(manifests, 'Service', 'serving.knative.dev').map((m) => [m.object.metadata.name, m]));
}

/**
 * Scaling: hot paths `min-scale >= hotMin` (3 in production), the others `"0"`; every Service sets
 * max-scale >= min-scale, metric, target, containerConcurrency and timeoutSeconds.
 */
export function checkScaling(manifests: Manifest[], hotMin: number): string[] {
  const out: string[] = [];
  const services = knativeServices(manifests);
  for (const fn of FUNCTIONS) {
    const m = services.get(fn.name);
    if (!m) {
      out.push(`function ${fn.name}: no Knative Service`);
      continue;
    }
    const template = json(json(m.object.spec).template);
    const a = (json(template.metadata).annotations ?? {}) as Record<string, string>;
    const spec = json(template.spec);
    const min = Number(a['autoscaling.knative.dev/min-scale']);
    const max = Number(a['autoscaling.knative.dev/max-scale']);
    if (fn.hot && !(min >= hotMin))
      out.push(`${where(m)}: hot path needs min-scale >= ${hotMin}, has ${min}`);
    const coldMin = String(fn.warm ?? 0);
    if (!fn.hot && a['autoscaling.knative.dev/min-scale'] !== coldMin)
      out.push(`${where(m)}: ${fn.warm ? `must keep min-scale ${coldMin}` : 'must scale to zero'}`);
    const label = fn.hot ? 'hot' : fn.warm ? 'warm' : 'zero';
    if (m.object.metadata.labels?.['isekai.dev/scale'] !== label) {
      out.push(`${where(m)}: label isekai.dev/scale must be ${label}`);
    }
    if (!(max >= Math.max(min, 1))) out.push(`${where(m)}: max-scale ${max} < min-scale ${min}`);
    for (const k of ['metric', 'target']) {
      if (!a[`autoscaling.knative.dev/${k}`]) out.push(`${where(m)}: no autoscaling.knative.dev/${k}`);
    }
    if (!Number.isInteger(spec.containerConcurrency)) out.push(`${where(m)}: no containerConcurrency`);
    if (!Number.isInteger(spec.timeoutSeconds)) out.push(`${where(m)}: no timeoutSeconds`);
  }
  return out;
}

/** Pod spec of a workload (Knative Service, Deployment, StatefulSet, DaemonSet, Job), if any. */
export function podSpec(object: KubeObject): Json | undefined {
  if (!['Service', 'Deployment', 'StatefulSet', 'DaemonSet', 'Job'].includes(object.kind)) return undefined;
  if (object.kind === 'Service' && !object.apiVersion.startsWith('serving.knative.dev/')) return undefined;
  const spec = json(json(json(object.spec).template).spec);
  return Array.isArray(spec.containers) ? spec : undefined;
}

/** Workloads that run to completion: probes do not apply to them (their exit code is their status). */
const RUN_TO_COMPLETION = new Set(['Job']);

/**
 * Every container: non-root, no privilege escalation, ALL capabilities dropped, RuntimeDefault
 * seccomp (container or pod), read-only root (or listed in WRITABLE_ROOT_ALLOWED), CPU and memory
 * requests and limits. Long-running ones: readiness and liveness probes (functions probe /readyz and
 * /healthz); Jobs: no readiness probe (nothing routes to them), liveness optional.
 */
export function checkContainers(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of manifests) {
    const pod = podSpec(m.object);
    if (!pod) continue;
    const podSeccomp = json(json(pod.securityContext).seccompProfile).type;
    for (const c of pod.containers as Json[]) {
      const at = `${where(m)} container ${String(c.name)}`;
      const sc = json(c.securityContext);
      if (sc.runAsNonRoot !== true) out.push(`${at}: runAsNonRoot must be true`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${at}: allowPrivilegeEscalation must be false`);
      const drop = json(sc.capabilities).drop;
      if (!Array.isArray(drop) || !drop.includes('ALL'))
        out.push(`${at}: capabilities.drop must include ALL`);
      if ((json(sc.seccompProfile).type ?? podSeccomp) !== 'RuntimeDefault')
        out.push(`${at}: seccomp RuntimeDefault`);
      if (sc.readOnlyRootFilesystem !== true && !(String(c.name) in WRITABLE_ROOT_ALLOWED)) {
        out.push(`${at}: readOnlyRootFilesystem must be true`);
      }
      const res = json(c.resources);
      for (const kind of ['requests', 'limits']) {
        for (const r of ['cpu', 'memory']) if (!json(res[kind])[r]) out.push(`${at}: no ${kind}.${r}`);
      }
      if (RUN_TO_COMPLETION.has(m.object.kind)) {
        if (c.readinessProbe) out.push(`${at}: a ${m.object.kind} serves nothing: no readinessProbe`);
      } else {
        for (const probe of ['readinessProbe', 'livenessProbe'])
          if (!c[probe]) out.push(`${at}: no ${probe}`);
      }
      if (m.object.apiVersion.startsWith('serving.knative.dev/')) {
        const path = (p: unknown) => json(json(p).httpGet).path;
        if (path(c.readinessProbe) !== '/readyz') out.push(`${at}: readiness probe must GET /readyz`);
        if (path(c.livenessProbe) !== '/healthz') out.push(`${at}: liveness probe must GET /healthz`);
      }
    }
  }
  return out;
}

/**
 * Knative Services use only what Knative's webhook accepts with default feature flags: one container,
 * one port named http1 or h2c, allowed container and pod fields, the function's image and target.
 */
export function checkKnativeServices(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of ofKind(manifests, 'Service', 'serving.knative.dev')) {
    const name = m.object.metadata.name;
    const pod = podSpec(m.object) ?? {};
    for (const k of Object.keys(pod))
      if (!KNATIVE_POD_FIELDS.has(k)) out.push(`${where(m)}: pod field ${k} not allowed`);
    const containers = (pod.containers ?? []) as Json[];
    if (containers.length !== 1) out.push(`${where(m)}: exactly one container expected`);
    const c = containers[0] ?? {};
    for (const k of Object.keys(c))
      if (!KNATIVE_CONTAINER_FIELDS.has(k)) out.push(`${where(m)}: field ${k} not allowed`);
    const ports = (c.ports ?? []) as Json[];
    if (ports.length !== 1 || !['http1', 'h2c'].includes(String(ports[0]?.name))) {
      out.push(`${where(m)}: one port named http1 or h2c`);
    }
    if (!new RegExp(`^[^:@]+/isekai/${name}[:@]`).test(String(c.image))) {
      out.push(
        `${where(m)}: image must be <registry>/isekai/${name}:<tag> or @<digest>, is ${String(c.image)}`,
      );
    }
    const env = new Map(((c.env ?? []) as Json[]).map((e) => [e.name, e.value]));
    if (env.get('FUNCTION_TARGET') !== name) out.push(`${where(m)}: env FUNCTION_TARGET must be ${name}`);
    const fn = FUNCTIONS.find((f) => f.name === name);
    if (!fn) out.push(`${where(m)}: not in the function specs (scripts/manifests/function-specs.ts)`);
    else if (env.get('FUNCTION_SIGNATURE_TYPE') !== fn.signature) {
      out.push(`${where(m)}: FUNCTION_SIGNATURE_TYPE must be ${fn.signature}`);
    }
    if (pod.serviceAccountName !== name) out.push(`${where(m)}: serviceAccountName must be ${name}`);
    const sa = ofKind(manifests, 'ServiceAccount').find(
      (s) => s.object.metadata.name === name && s.object.metadata.namespace === m.object.metadata.namespace,
    );
    if (!sa) out.push(`${where(m)}: ServiceAccount ${name} missing`);
  }
  return out;
}

/**
 * Jobs (batch/v1): exactly the catalogued ones (JOBS), each in its file and namespace isekai; bounded
 * (backoffLimit, activeDeadlineSeconds) and cleaned up (ttlSecondsAfterFinished); restartPolicy OnFailure
 * or Never; one container with the Job's own image (<registry>/isekai/<name>:<tag> or @<digest>); running
 * as its own ServiceAccount, which exists and keeps its token (the Job logs in to Vault with it).
 */
export function checkJobs(manifests: Manifest[]): string[] {
  const out: string[] = [];
  const jobs = ofKind(manifests, 'Job', 'batch');
  for (const spec of JOBS) {
    if (!jobs.some((m) => m.object.metadata.name === spec.name)) out.push(`job ${spec.name}: no Job`);
  }
  for (const m of jobs) {
    const name = m.object.metadata.name;
    const spec = JOBS.find((j) => j.name === name);
    if (!spec) {
      out.push(`${where(m)}: not in the Job specs (scripts/manifests/function-specs.ts)`);
      continue;
    }
    if (m.object.metadata.namespace !== 'isekai') out.push(`${where(m)}: namespace must be isekai`);
    if (m.file.startsWith('knative/base/') && m.file !== spec.file)
      out.push(`${where(m)}: belongs in ${spec.file}`);
    const jobSpec = json(m.object.spec);
    for (const k of ['backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished']) {
      const v = jobSpec[k];
      if (!Number.isInteger(v) || (v as number) < (k === 'backoffLimit' ? 0 : 1))
        out.push(`${where(m)}: no ${k}`);
    }
    const pod = podSpec(m.object) ?? {};
    if (!['OnFailure', 'Never'].includes(String(pod.restartPolicy)))
      out.push(`${where(m)}: restartPolicy must be OnFailure or Never`);
    const containers = (pod.containers ?? []) as Json[];
    if (containers.length !== 1) out.push(`${where(m)}: exactly one container expected`);
    const image = String(containers[0]?.image);
    if (!new RegExp(`^[^:@]+/isekai/${name}[:@]`).test(image)) {
      out.push(`${where(m)}: image must be <registry>/isekai/${name}:<tag> or @<digest>, is ${image}`);
    }
    if (pod.serviceAccountName !== name) out.push(`${where(m)}: serviceAccountName must be ${name}`);
    const sa = ofKind(manifests, 'ServiceAccount').find(
      (s) => s.object.metadata.name === name && s.object.metadata.namespace === m.object.metadata.namespace,
    );
    if (!sa) out.push(`${where(m)}: ServiceAccount ${name} missing`);
    else if (sa.object.automountServiceAccountToken === false || pod.automountServiceAccountToken === false)
      out.push(`${where(m)}: its ServiceAccount token must be mounted (Vault Kubernetes auth)`);
  }
  return out;
}

/** Narrows unknown JSON to an object, `{}` when absent. */
export function json(value: unknown): Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Json) : {};
}
