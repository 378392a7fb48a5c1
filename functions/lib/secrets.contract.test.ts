/**
 * CONTRACT TEST against Vault's documented HTTP API (no Vault server can run on our machines):
 * - POST /v1/auth/kubernetes/login {role, jwt} → {auth: {client_token, lease_duration, renewable}}
 *   (developer.hashicorp.com/vault/api-docs/auth/kubernetes#login)
 * - GET /v1/<mount>/data/<path> with X-Vault-Token → {data: {data: {...}, metadata: {...}}}
 *   (developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version); a path never written
 *   → 404 {errors: []}; a path the token's policy does not allow → 403
 * - POST /v1/auth/token/renew-self {increment?} with X-Vault-Token → {auth: {...}}
 *   (developer.hashicorp.com/vault/api-docs/auth/token#renew-a-token-self)
 * - errors: 403 {errors: ["permission denied"]}
 * The fake below implements exactly those shapes and records what the client sent.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigInvalid } from './errors.ts';
import { loadFunctionEnv } from './secrets.ts';

interface Call {
  method: string;
  url: string;
  token: string | undefined;
  body: unknown;
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.service-account.token';
const calls: Call[] = [];
/** What each role's policy may read (paths under kv/data/), as in vault-policies/<role>.hcl. */
const POLICIES: Record<string, string[]> = {
  catalog: ['isekai/catalog/config', 'isekai/shared/redis'],
  'nothing-here': ['isekai/nothing-here/config', 'isekai/shared/redis', 'isekai/shared/object-store'],
  'catalog-reader': ['isekai/catalog/config'],
};
/** KV v2 contents; `object-store` was never written (404). */
const KV: Record<string, Record<string, unknown>> = {
  'isekai/catalog/config': {
    DATABASE_URL: 'postgres://catalog:pw-from-vault@postgres-rw.isekai-data.svc.cluster.local:5432/isekai',
    DATABASE_PASSWORD: 'pw-from-vault',
    REDIS_URL: 'redis://:own-wins@redis:6379',
    PG_POOL_MAX: 20,
  },
  'isekai/shared/redis': { REDIS_URL: 'redis://:shared@redis.isekai-data.svc.cluster.local:6379' },
};
let server: Server;
let addr = '';
let tokenPath = '';

async function body(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text ? JSON.parse(text) : undefined;
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vault-contract-'));
  tokenPath = join(dir, 'token');
  await writeFile(tokenPath, `${JWT}\n`);
  server = createServer(async (req, res) => {
    const call: Call = {
      method: req.method ?? '',
      url: req.url ?? '',
      token: req.headers['x-vault-token'] as string | undefined,
      body: await body(req),
    };
    calls.push(call);
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (call.method === 'POST' && call.url === '/v1/auth/kubernetes/login') {
      const { role, jwt } = call.body as { role: string; jwt: string };
      if (jwt !== JWT || !(role in POLICIES)) return send(403, { errors: ['permission denied'] });
      return send(200, {
        request_id: 'login',
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: null,
        wrap_info: null,
        warnings: null,
        auth: {
          client_token: `s.${role}`,
          accessor: `a.${role}`,
          policies: ['default', role],
          metadata: { role, service_account_name: role, service_account_namespace: 'isekai' },
          lease_duration: role === 'catalog' ? 2 : 3600,
          renewable: true,
        },
      });
    }
    const kv = call.url.match(/^\/v1\/kv\/data\/(.+)$/);
    if (call.method === 'GET' && kv) {
      const role = call.token?.replace(/^s\./, '') ?? '';
      if (!POLICIES[role]?.includes(kv[1] ?? '')) return send(403, { errors: ['permission denied'] });
      const data = KV[kv[1] ?? ''];
      if (!data) return send(404, { errors: [] });
      return send(200, {
        request_id: 'read',
        lease_id: '',
        renewable: false,
        lease_duration: 0,
        data: {
          data,
          metadata: {
            created_time: '2026-01-01T00:00:00.000000Z',
            custom_metadata: null,
            deletion_time: '',
            destroyed: false,
            version: 3,
          },
        },
        wrap_info: null,
        warnings: null,
        auth: null,
      });
    }
    if (call.method === 'POST' && call.url === '/v1/auth/token/renew-self') {
      return send(200, { auth: { client_token: call.token, lease_duration: 2, renewable: true } });
    }
    return send(404, { errors: [] });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  addr = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

describe('loadFunctionEnv (contract: Vault Kubernetes auth + KV v2)', () => {
  const cluster = (extra: NodeJS.ProcessEnv = {}) => ({
    VAULT_ADDR: addr,
    VAULT_K8S_TOKEN_PATH: tokenPath,
    OIDC_ISSUER: 'https://auth.isekai.dev/realms/isekai',
    ...extra,
  });
  const stops: AbortController[] = [];
  const signal = () => {
    const controller = new AbortController();
    stops.push(controller);
    return controller.signal;
  };
  afterAll(() => {
    for (const c of stops) c.abort();
  });

  it('returns the environment unchanged when Vault is not configured', async () => {
    const env = { DATABASE_URL: 'postgres://local/isekai', REDIS_URL: 'redis://localhost:6379' };
    expect(await loadFunctionEnv('catalog', { shared: ['redis'], required: ['DATABASE_URL'], env })).toBe(
      env,
    );
  });

  it('logs in, reads shared then own KV v2 config, merges own > shared > env (strings only), renews', async () => {
    calls.length = 0;
    const env = await loadFunctionEnv('catalog', {
      shared: ['redis'],
      required: ['DATABASE_URL', 'REDIS_URL'],
      env: cluster({ REDIS_URL: 'redis://from-env', LOG_LEVEL: 'warn' }),
      signal: signal(),
    });
    expect(env).toMatchObject({
      DATABASE_URL: 'postgres://catalog:pw-from-vault@postgres-rw.isekai-data.svc.cluster.local:5432/isekai',
      REDIS_URL: 'redis://:own-wins@redis:6379',
      LOG_LEVEL: 'warn',
      OIDC_ISSUER: 'https://auth.isekai.dev/realms/isekai',
    });
    expect(env.PG_POOL_MAX).toBeUndefined();
    expect(calls.filter((c) => c.url !== '/v1/auth/token/renew-self').slice(0, 3)).toMatchObject([
      { method: 'POST', url: '/v1/auth/kubernetes/login', body: { role: 'catalog', jwt: JWT } },
      { method: 'GET', url: '/v1/kv/data/isekai/shared/redis', token: 's.catalog' },
      { method: 'GET', url: '/v1/kv/data/isekai/catalog/config', token: 's.catalog' },
    ]);
    await expect
      .poll(() => calls.find((c) => c.url === '/v1/auth/token/renew-self'), { timeout: 5_000 })
      .toMatchObject({ method: 'POST', token: 's.catalog' });
  });

  it('takes the shared value when the own config does not set it', async () => {
    const env = await loadFunctionEnv('nothing-here', {
      shared: ['redis'],
      env: cluster(),
      signal: signal(),
    });
    expect(env.REDIS_URL).toBe('redis://:shared@redis.isekai-data.svc.cluster.local:6379');
  });

  it('logs in as VAULT_ROLE when set', async () => {
    calls.length = 0;
    await loadFunctionEnv('catalog', { env: cluster({ VAULT_ROLE: 'catalog-reader' }), signal: signal() });
    expect(calls[0]).toMatchObject({ url: '/v1/auth/kubernetes/login', body: { role: 'catalog-reader' } });
  });

  it('fails fast naming required settings Vault does not hold (own config never written: 404)', async () => {
    const error = await loadFunctionEnv('nothing-here', {
      required: ['DATABASE_URL'],
      env: cluster(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigInvalid);
    expect((error as ConfigInvalid).issues.map((i) => i.field)).toEqual(['DATABASE_URL']);
  });

  it('starts without own config when nothing is required from it (404 is "no secrets")', async () => {
    const env = await loadFunctionEnv('nothing-here', { env: cluster(), signal: signal() });
    expect(env.OIDC_ISSUER).toBe('https://auth.isekai.dev/realms/isekai');
  });

  it('fails fast naming a shared secret that was never written (404)', async () => {
    const error = await loadFunctionEnv('nothing-here', {
      shared: ['object-store'],
      env: cluster(),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigInvalid);
    expect((error as ConfigInvalid).issues.map((i) => i.field)).toEqual([
      'kv/data/isekai/shared/object-store',
    ]);
  });

  it('surfaces a shared path outside the policy (403) instead of starting without it', async () => {
    await expect(loadFunctionEnv('catalog', { shared: ['object-store'], env: cluster() })).rejects.toThrow(
      /permission denied/,
    );
  });
  it('fails fast naming the settings Vault does not hold, never a value it read', async () => {
    const error = await loadFunctionEnv('catalog', {
      required: ['DATABASE_PASSWORD', 'S3_SECRET_KEY'],
      env: { VAULT_ADDR: addr, VAULT_K8S_TOKEN_PATH: tokenPath },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigInvalid);
    expect((error as ConfigInvalid).issues.map((i) => i.field)).toEqual(['S3_SECRET_KEY']);
    expect((error as Error).message).not.toContain('pw-from-vault');
  });

  it('surfaces a refused login (403) instead of starting without secrets', async () => {
    await expect(
      loadFunctionEnv('rate-anime', { env: { VAULT_ADDR: addr, VAULT_K8S_TOKEN_PATH: tokenPath } }),
    ).rejects.toThrow(/permission denied/);
  });
});
