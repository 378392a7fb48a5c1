/**
 * The environment a function's container gets in the cluster, built from the manifests, checked against
 * the function's own settings schemas (functions/<name>/settings.ts through loadConfig). This is what ties
 * the manifests to the code: a missing setting, a wrong name or a wrong value fails here, not at start-up.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TObject } from 'typebox';
import { BaseSettings, loadConfig } from '../../functions/lib/config.ts';
import { ConfigInvalid } from '../../functions/lib/errors.ts';
import { VAULT_CLIENT_SETTINGS } from '../../functions/lib/secrets.ts';
import { FUNCTIONS, JOBS } from './function-specs.ts';
import { type Manifest, ofKind, REPO_ROOT, sinkBindings } from './load.ts';
import { json, knativeServices, podSpec, where } from './pod-invariants.ts';

/** What `functions/<name>/settings.ts` exports. */
export interface FunctionSettings {
  /** Schemas parsed at start-up besides BaseSettings. */
  readonly settings: readonly TObject[];
  /** Settings Vault provides in the cluster (credentials); a manifest never sets them. */
  readonly vaultSettings: readonly string[];
  /** Shared Vault secrets read (`kv/data/isekai/shared/<name>`). */
  readonly sharedSecrets: readonly string[];
}

/** A function whose code is not written yet: only its planned Vault reads are known (policy checks). */
export type PendingSettings = Omit<FunctionSettings, 'settings'> & { readonly pending: true };

/**
 * Functions in the catalogue with manifests but no code yet. Each entry must go when
 * functions/<name>/settings.ts lands (a test holds this list to the folders that exist).
 */
export const PENDING: Readonly<Record<string, PendingSettings>> = {};

/** Where functions reach Vault in the cluster (k3s/platform/vault.yaml: release `vault`, namespace `vault`). */
export const VAULT_ADDR = 'http://vault.vault.svc.cluster.local:8200';

/** Placeholders shaped like what Vault holds for each Vault-provided setting (see vault-policies/README.md). */
export const VAULT_PLACEHOLDERS: Readonly<Record<string, string>> = {
  DATABASE_URL: 'postgres://isekai:placeholder@postgres-rw.isekai-data.svc.cluster.local:5432/isekai',
  REDIS_URL: 'redis://:placeholder@redis.isekai-data.svc.cluster.local:6379',
  SESSION_REDIS_URL: 'redis://:placeholder@redis-sessions.isekai-data.svc.cluster.local:6379',
  MONGO_URL:
    'mongodb://root:placeholder@mongodb-0.mongodb.isekai-data.svc.cluster.local:27017,mongodb-1.mongodb.isekai-data.svc.cluster.local:27017,mongodb-2.mongodb.isekai-data.svc.cluster.local:27017/isekai?authSource=admin&replicaSet=rs0',
  S3_ACCESS_KEY_ID: 'PLACEHOLDERACCESSKEY',
  S3_SECRET_ACCESS_KEY: 'placeholder-secret-key',
  OIDC_CLIENT_SECRET: 'placeholder-client-secret',
  UNSUBSCRIBE_KEY: 'placeholder-unsubscribe-hmac-key-0123456789',
};

/**
 * envFrom sources made by controllers rather than by these manifests, with the keys they carry. None today:
 * the bucket claims' ConfigMaps (BUCKET_HOST, …) are read by no code, so no function lists them; endpoint
 * and bucket are plain env values that buckets.test.ts keeps equal to the claims in rook/.
 */
export const EXTERNAL_SOURCES: Readonly<Record<string, NodeJS.ProcessEnv>> = {};

/**
 * The address a RabbitMQ Broker publishes in status.address.url, which a SinkBinding injects as K_SINK:
 * eventing-rabbitmq makes the Service `<broker>-broker-ingress` in the Broker's own namespace and sets the
 * URL to its cluster host name, with no path (pkg/reconciler/broker: resources/ingress.go MakeIngressService,
 * broker.go `network.GetServiceHostname(ingressEndpoints.GetName(), ingressEndpoints.GetNamespace())`).
 */
export const brokerAddress = (broker: string, namespace: string) =>
  `http://${broker}-broker-ingress.${namespace}.svc.cluster.local`;
/** Variables the runtime reads outside the settings schemas (functions-framework, Node, secrets.ts). */
const RUNTIME_SETTINGS = new Set<string>([
  'FUNCTION_TARGET',
  'FUNCTION_SIGNATURE_TYPE',
  'NODE_ENV',
  ...VAULT_CLIENT_SETTINGS,
]);

/** Catalogue entries whose settings module is not functions/<name>/settings.ts. */
const SETTINGS_ELSEWHERE: Readonly<Record<string, readonly string[]>> = {
  site: ['site', 'src', 'lib', 'settings.ts'],
};

/** Where a catalogue entry's settings module is. */
export const settingsFile = (name: string) =>
  join(REPO_ROOT, ...(SETTINGS_ELSEWHERE[name] ?? ['functions', name, 'settings.ts']));

/** Each catalogue function's settings module, or its PENDING entry when the code is not written yet. */
export async function loadFunctionSettings(): Promise<Map<string, FunctionSettings | PendingSettings>> {
  const out = new Map<string, FunctionSettings | PendingSettings>();
  for (const { name } of FUNCTIONS) {
    const file = settingsFile(name);
    if (existsSync(file)) out.set(name, (await import(pathToFileURL(file).href)) as FunctionSettings);
    else if (PENDING[name]) out.set(name, PENDING[name]);
    else throw new Error(`function ${name}: no functions/${name}/settings.ts and no PENDING entry`);
  }
  return out;
}

/** Whether the entry is a planned function without code. */
export function isPending(s: FunctionSettings | PendingSettings): s is PendingSettings {
  return 'pending' in s;
}

/**
 * The environment the container of Knative Service `m` would start with: its `env` values; its `envFrom`
 * ConfigMaps and Secrets found in `manifests`; what Knative sets (PORT, K_SERVICE…); K_SINK when a
 * SinkBinding targets it; and, when VAULT_ADDR is set, a placeholder for each Vault-provided setting.
 * Problems are what cannot be resolved (valueFrom, a missing envFrom source, a missing placeholder).
 */
export function containerEnv(
  manifests: Manifest[],
  m: Manifest,
  fn: Pick<FunctionSettings, 'vaultSettings'>,
): { env: NodeJS.ProcessEnv; problems: string[] } {
  const name = m.object.metadata.name;
  const namespace = m.object.metadata.namespace;
  const container = ((podSpec(m.object)?.containers ?? []) as Record<string, unknown>[])[0] ?? {};
  const problems: string[] = [];
  const env: NodeJS.ProcessEnv = { PORT: '8080', K_SERVICE: name, K_CONFIGURATION: name };
  for (const source of (container.envFrom ?? []) as Record<string, unknown>[]) {
    const ref = json(source.configMapRef ?? source.secretRef);
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    const found = ofKind(manifests, kind).find(
      (o) => o.object.metadata.name === ref.name && o.object.metadata.namespace === namespace,
    );
    const external = EXTERNAL_SOURCES[`${kind} ${namespace}/${String(ref.name)}`];
    if (!found && external) Object.assign(env, external);
    if (!found) {
      if (!external)
        problems.push(`${where(m)}: envFrom ${kind} ${String(ref.name)} is not among the manifests`);
      continue;
    }
    const data = json(found.object.data);
    for (const [key, value] of Object.entries(data)) {
      env[key] = kind === 'Secret' ? Buffer.from(String(value), 'base64').toString('utf8') : String(value);
    }
    for (const [key, value] of Object.entries(json(found.object.stringData))) env[key] = String(value);
  }
  // Set by the platform, not by our manifests: a SinkBinding injects K_SINK, its Broker's address.
  const binding = sinkBindings(manifests).find((s) => s.subject === name && s.namespace === namespace);
  if (binding?.sink.kind === 'Broker') env.K_SINK = brokerAddress(binding.sink.name, binding.sink.namespace);
  else if (binding) problems.push(`${where(m)}: SinkBinding ${binding.name} sinks to a ${binding.sink.kind}`);
  for (const e of (container.env ?? []) as Record<string, unknown>[]) {
    if (typeof e.value === 'string') env[String(e.name)] = e.value;
    else
      problems.push(
        `${where(m)}: env ${String(e.name)} has no literal value (valueFrom is not resolved here)`,
      );
  }
  if (env.VAULT_ADDR) {
    for (const setting of fn.vaultSettings) {
      const placeholder = VAULT_PLACEHOLDERS[setting];
      if (placeholder === undefined) problems.push(`${name}: no placeholder for Vault setting ${setting}`);
      else env[setting] = placeholder;
    }
  }
  return { env, problems };
}

/**
 * Every Knative Service of a function with code: the env it would get passes BaseSettings and the
 * function's own schemas through loadConfig; every `env` name it sets is read by the function; it does
 * not set what Vault provides (credentials) nor K_SINK where a SinkBinding injects it; the declared
 * Vault settings are settings the function reads.
 */
export function checkFunctionEnv(
  manifests: Manifest[],
  declared: Map<string, FunctionSettings | PendingSettings>,
): string[] {
  const out: string[] = [];
  for (const [name, m] of knativeServices(manifests)) {
    const fn = declared.get(name);
    if (!fn) {
      out.push(`${where(m)}: no settings declared for ${name} (functions/${name}/settings.ts)`);
      continue;
    }
    if (isPending(fn)) continue;
    const schemas = [BaseSettings, ...fn.settings];
    const read = new Set(schemas.flatMap((s) => Object.keys(s.properties)));
    for (const v of fn.vaultSettings) {
      if (!read.has(v)) out.push(`${name}: vaultSettings names ${v}, which no settings schema reads`);
    }
    const container = ((podSpec(m.object)?.containers ?? []) as Record<string, unknown>[])[0] ?? {};
    const bound = sinkBindings(manifests).some((s) => s.subject === name);
    for (const e of (container.env ?? []) as Record<string, unknown>[]) {
      const key = String(e.name);
      if (!read.has(key) && !RUNTIME_SETTINGS.has(key))
        out.push(`${where(m)}: env ${key} is not a setting ${name} reads`);
      if (fn.vaultSettings.includes(key))
        out.push(`${where(m)}: env ${key} comes from Vault, never from the manifest`);
      if (key === 'K_SINK' && bound)
        out.push(`${where(m)}: K_SINK is injected by a SinkBinding, not set by hand`);
    }
    const { env, problems } = containerEnv(manifests, m, fn);
    out.push(...problems);
    for (const schema of schemas) {
      try {
        loadConfig(schema, env);
      } catch (error) {
        if (!(error instanceof ConfigInvalid)) throw error;
        out.push(...error.issues.map((i) => `${where(m)}: ${i.field} ${i.message}`));
      }
    }
  }
  return out;
}

/** What a catalogued Job's manifest may set in `env`: Vault client settings, NODE_ENV, LOG_LEVEL. */
const JOB_ENV = new Set<string>(['NODE_ENV', 'LOG_LEVEL', ...VAULT_CLIENT_SETTINGS]);

/**
 * Every catalogued Job (JOBS): its container would start with each of its Vault settings, from Vault
 * (VAULT_ADDR set: a placeholder stands in) or from an envFrom Secret found in the manifests (no-vault);
 * its `env` sets only JOB_ENV names, never a Vault setting; every envFrom source resolves.
 */
export function checkJobEnv(manifests: Manifest[]): string[] {
  const out: string[] = [];
  for (const m of ofKind(manifests, 'Job', 'batch')) {
    const job = JOBS.find((j) => j.name === m.object.metadata.name);
    if (!job) continue; // checkJobs reports it
    const container = ((podSpec(m.object)?.containers ?? []) as Record<string, unknown>[])[0] ?? {};
    for (const e of (container.env ?? []) as Record<string, unknown>[]) {
      const key = String(e.name);
      if (job.vaultSettings.includes(key))
        out.push(`${where(m)}: env ${key} comes from Vault, never from the manifest`);
      else if (!JOB_ENV.has(key)) out.push(`${where(m)}: env ${key} is not a setting ${job.name} reads`);
    }
    const { env, problems } = containerEnv(manifests, m, job);
    out.push(...problems);
    for (const setting of job.vaultSettings) {
      if (!env[setting]) out.push(`${where(m)}: ${setting} is required (from Vault or the local Secret)`);
    }
  }
  return out;
}
