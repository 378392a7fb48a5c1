import { readFile } from 'node:fs/promises';
import vault from 'node-vault';
import { ConfigInvalid } from './errors.ts';

/** Where the pod's service-account token is mounted (Kubernetes' default path). */
const SA_TOKEN_PATH = '/var/run/secrets/kubernetes.io/serviceaccount/token';

interface SecretOptions {
  readonly env?: NodeJS.ProcessEnv;
  /** Called when the Vault token could not be renewed (log it; the next start logs in again). */
  readonly onRenewError?: (error: unknown) => void;
}

/** Loaded secrets plus a way to stop the background token renewal. */
export interface Secrets<K extends string> {
  readonly values: Readonly<Record<K, string>>;
  readonly source: 'vault' | 'environment';
  close(): void;
}

/**
 * Read a function's secrets once at start-up. In the cluster (VAULT_ADDR set) it logs in to Vault with
 * the Kubernetes auth method (role = the function's name unless VAULT_ROLE says otherwise), reads KV v2
 * at `<VAULT_KV_MOUNT|kv>/data/isekai/<function>`, and keeps the token renewed. Locally the same names
 * come from the environment. Missing secrets fail fast, naming them (never their values).
 * @example const { values } = await loadSecrets('catalog', ['DATABASE_PASSWORD']);
 */
export async function loadSecrets<K extends string>(
  fn: string,
  names: readonly K[],
  options: SecretOptions = {},
): Promise<Secrets<K>> {
  const env = options.env ?? process.env;
  if (!env.VAULT_ADDR) {
    return {
      values: pick(names, (name) => env[name], 'the environment'),
      source: 'environment',
      close: () => undefined,
    };
  }
  const client = vault({
    apiVersion: 'v1',
    endpoint: env.VAULT_ADDR,
    ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
  });
  const jwt = (await readFile(env.VAULT_K8S_TOKEN_PATH ?? SA_TOKEN_PATH, 'utf8')).trim();
  const login = await client.kubernetesLogin({
    role: env.VAULT_ROLE ?? fn,
    jwt,
    // node-vault 0.12 renders an empty mount into the path (`/auth//login`) unless one is given.
    mount_point: env.VAULT_K8S_MOUNT ?? 'kubernetes',
  });
  const mount = env.VAULT_KV_MOUNT ?? 'kv';
  const secret = await client.read(`${mount}/data/isekai/${fn}`);
  const data = (secret?.data?.data ?? {}) as Record<string, unknown>;
  const values = pick(
    names,
    (name) => (typeof data[name] === 'string' ? (data[name] as string) : undefined),
    'Vault',
  );
  const ttl = Number(login?.auth?.lease_duration ?? 0);
  if (login?.auth?.renewable && ttl > 0) {
    client.on('token:error:renew', (error: unknown) => options.onRenewError?.(error));
    await client.startTokenRenewal({ ttl });
  }
  return { values, source: 'vault', close: () => client.stopTokenRenewal() };
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
