import { readFile } from 'node:fs/promises';
import type vault from 'node-vault';
import { ConfigInvalid } from './errors.ts';

/** The environment variables this module reads (VAULT_ADDR switches Vault on); manifests may set them. */
export const VAULT_CLIENT_SETTINGS = [
  'VAULT_ADDR',
  'VAULT_NAMESPACE',
  'VAULT_ROLE',
  'VAULT_K8S_MOUNT',
  'VAULT_K8S_TOKEN_PATH',
  'VAULT_KV_MOUNT',
] as const;

/** Where the pod's service-account token is mounted (Kubernetes' default path). */
const SA_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

interface SecretOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Called when the Vault token could not be renewed (default: one JSON line on stderr). */
  readonly onRenewError?: (error: unknown) => void;
}

/** Options of {@link loadFunctionEnv}. */
export interface FunctionEnvOptions extends SecretOptions {
  /** Shared secrets to read as well, `kv/data/isekai/shared/<name>` (e.g. `['redis']`). */
  readonly shared?: readonly string[];
  /** Settings Vault must provide in the cluster; a missing one fails the start, named (never its value). */
  readonly required?: readonly string[];
  /** Stops the background token renewal when aborted (tests; a clean shutdown). */
  readonly signal?: AbortSignal;
}

type VaultClient = ReturnType<typeof vault>;

/** A logged-in Vault client that reads KV v2 values under `<VAULT_KV_MOUNT|kv>/data/`. */
interface Session {
  read(path: string, missing: 'empty' | 'fail'): Promise<Record<string, string>>;
  /** Keep the login token renewed (a no-op for tokens that are not renewable); returns the stopper. */
  keepRenewed(): Promise<() => void>;
}

/**
 * The environment a function is configured from. Locally (no VAULT_ADDR) that is the environment itself.
 * In the cluster it logs in to Vault with the Kubernetes auth method (role = VAULT_ROLE or the function's
 * name), reads KV v2 `kv/data/isekai/shared/<name>` for each shared secret and `kv/data/isekai/<fn>/config`,
 * and returns `{ ...env, ...shared, ...own }` (string values only; each value is a whole setting, e.g.
 * `DATABASE_URL=postgres://…`). The token is kept renewed in the background (timer unref'd).
 * Fails fast naming a missing shared path or a `required` setting Vault does not hold.
 * @example const env = await loadFunctionEnv('catalog', { shared: ['redis'], required: ['DATABASE_URL'] });
 */
export async function loadFunctionEnv(
  fn: string,
  options: FunctionEnvOptions = {},
): Promise<NodeJS.ProcessEnv> {
  const env = options.env ?? process.env;
  if (!env.VAULT_ADDR) return env;
  const session = await login(fn, env, options);
  const shared: Record<string, string> = {};
  for (const name of options.shared ?? []) {
    Object.assign(shared, await session.read(`isekai/shared/${name}`, 'fail'));
  }
  const own = await session.read(`isekai/${fn}/config`, 'empty');
  const merged: NodeJS.ProcessEnv = { ...env, ...shared, ...own };
  const from = [...(options.shared ?? []).map((n) => `isekai/shared/${n}`), `isekai/${fn}/config`];
  pick(options.required ?? [], (name) => merged[name], `Vault (${from.join(', ')})`);
  const stop = await session.keepRenewed();
  if (options.signal?.aborted) stop();
  else options.signal?.addEventListener('abort', stop, { once: true });
  return merged;
}

/** Kubernetes auth login (POST /v1/auth/<mount>/login) with the pod's service-account token. */
async function login(fn: string, env: NodeJS.ProcessEnv, options: SecretOptions): Promise<Session> {
  // Loaded here, not at start-up: node-vault brings axios, follow-redirects and form-data (and through them
  // zlib, http2 and undici), which a function started without VAULT_ADDR never uses (bench/README.md).
  const { default: createClient } = await import('node-vault');
  const client: VaultClient = createClient({
    apiVersion: 'v1',
    endpoint: env.VAULT_ADDR,
    ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
  });
  const jwt = (await readFile(env.VAULT_K8S_TOKEN_PATH ?? SA_TOKEN_PATH, 'utf8')).trim();
  const auth = await client.kubernetesLogin({
    role: env.VAULT_ROLE ?? fn,
    jwt,
    // node-vault 0.12 renders an empty mount into the path (`/auth//login`) unless one is given.
    mount_point: env.VAULT_K8S_MOUNT ?? 'kubernetes',
  });
  const mount = env.VAULT_KV_MOUNT ?? 'kv';
  return {
    async read(path, missing) {
      const secret = await client.read(`${mount}/data/${path}`).catch((error: unknown) => {
        if (statusOf(error) !== 404) throw error;
        if (missing === 'empty') return undefined;
        throw new ConfigInvalid(`Vault holds no secret at ${mount}/data/${path}`, {
          issues: [{ field: `${mount}/data/${path}`, message: 'is missing in Vault' }],
        });
      });
      const data = (secret?.data?.data ?? {}) as Record<string, unknown>;
      const out: Record<string, string> = {};
      for (const [key, value] of Object.entries(data)) if (typeof value === 'string') out[key] = value;
      return out;
    },
    async keepRenewed() {
      const ttl = Number(auth?.auth?.lease_duration ?? 0);
      if (!auth?.auth?.renewable || !(ttl > 0)) return () => undefined;
      client.on('token:error:renew', options.onRenewError ?? reportRenewError);
      await client.startTokenRenewal({ ttl });
      return () => client.stopTokenRenewal();
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const response = (error as { response?: { statusCode?: unknown } } | null)?.response;
  return typeof response?.statusCode === 'number' ? response.statusCode : undefined;
}

function reportRenewError(error: unknown): void {
  const line = {
    level: 'warn',
    msg: 'vault token renewal failed',
    err: String(error),
    status: statusOf(error),
  };
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

function pick<K extends string>(names: readonly K[], get: (name: K) => string | undefined, where: string) {
  const values = {} as Record<K, string>;
  const missing: K[] = [];
  for (const name of names) {
    const value = get(name);
    if (value === undefined || value === '') missing.push(name);
    else values[name] = value;
  }
  if (missing.length > 0) {
    throw new ConfigInvalid(`missing secrets in ${where}: ${missing.join(', ')}`, {
      issues: missing.map((field) => ({ field, message: `is missing in ${where}` })),
    });
  }
  return values;
}
