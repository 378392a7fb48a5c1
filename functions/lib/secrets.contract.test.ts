/**
 * CONTRACT TEST against Vault's documented HTTP API (no Vault server can run on our machines):
 * - POST /v1/auth/kubernetes/login {role, jwt} → {auth: {client_token, lease_duration, renewable}}
 *   (developer.hashicorp.com/vault/api-docs/auth/kubernetes#login)
 * - GET /v1/<mount>/data/<path> with X-Vault-Token → {data: {data: {...}, metadata: {...}}}
 *   (developer.hashicorp.com/vault/api-docs/secret/kv/kv-v2#read-secret-version)
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
import { loadSecrets } from './secrets.ts';

interface Call {
  method: string;
  url: string;
  token: string | undefined;
  body: unknown;
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.service-account.token';
const calls: Call[] = [];
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
      if (jwt !== JWT || !['catalog', 'nothing-here'].includes(role))
        return send(403, { errors: ['permission denied'] });
      return send(200, {
        auth: { client_token: `s.${role}`, lease_duration: 2, renewable: true, policies: [role] },
      });
    }
    if (call.method === 'GET' && call.url === '/v1/kv/data/isekai/catalog') {
      if (call.token !== 's.catalog') return send(403, { errors: ['permission denied'] });
      return send(200, {
        data: { data: { DATABASE_PASSWORD: 'pw-from-vault', REDIS_PASSWORD: 'r' }, metadata: { version: 3 } },
      });
    }
    if (call.method === 'GET' && call.url === '/v1/kv/data/isekai/nothing-here') {
      return send(404, { errors: [] });
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

describe('secrets (contract: Vault Kubernetes auth + KV v2)', () => {
  it('reads secrets from the environment when Vault is not configured', async () => {
    const secrets = await loadSecrets('catalog', ['DATABASE_PASSWORD'], {
      env: { DATABASE_PASSWORD: 'local' },
    });
    expect(secrets.source).toBe('environment');
    expect(secrets.values.DATABASE_PASSWORD).toBe('local');
  });

  it('logs in with the service-account token, reads KV v2 and renews the token', async () => {
    calls.length = 0;
    const secrets = await loadSecrets('catalog', ['DATABASE_PASSWORD'], {
      env: { VAULT_ADDR: addr, VAULT_K8S_TOKEN_PATH: tokenPath },
    });
    try {
      expect(secrets.source).toBe('vault');
      expect(secrets.values.DATABASE_PASSWORD).toBe('pw-from-vault');
      expect(calls[0]).toMatchObject({
        method: 'POST',
        url: '/v1/auth/kubernetes/login',
        body: { role: 'catalog', jwt: JWT },
      });
      expect(calls[1]).toMatchObject({
        method: 'GET',
        url: '/v1/kv/data/isekai/catalog',
        token: 's.catalog',
      });
      // lease_duration 2 s → renewal at 80 % of the TTL
      await expect
        .poll(() => calls.find((c) => c.url === '/v1/auth/token/renew-self'), { timeout: 5_000 })
        .toMatchObject({ method: 'POST', token: 's.catalog' });
    } finally {
      secrets.close();
    }
  });

  it('fails fast naming the secrets Vault does not hold', async () => {
    const error = await loadSecrets('catalog', ['DATABASE_PASSWORD', 'S3_SECRET_KEY'], {
      env: { VAULT_ADDR: addr, VAULT_K8S_TOKEN_PATH: tokenPath },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigInvalid);
    expect((error as ConfigInvalid).issues.map((i) => i.field)).toEqual(['S3_SECRET_KEY']);
    expect((error as Error).message).not.toContain('pw-from-vault');
  });

  it('surfaces a refused login (403) instead of starting without secrets', async () => {
    await expect(
      loadSecrets('rate-anime', ['X'], { env: { VAULT_ADDR: addr, VAULT_K8S_TOKEN_PATH: tokenPath } }),
    ).rejects.toThrow(/permission denied/);
  });
});
