/**
 * What the edge benchmarks share (bench/edge.ts, bench/edge-cpu.ts): a signed RS256 bearer token with the
 * JWKS that verifies it served here (no Keycloak needed: after the first fetch the path is the same), and
 * the two upstreams every bench edge proxies to — the echo function and the real edge-auth — each on the
 * lean host pinned to core 0.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, SignJWT } from 'jose';
import { startServer } from './lib.ts';

export const ISSUER = 'https://auth.bench.invalid/realms/isekai';
export const API_HOST = 'api.isekai.localhost';
/** Limits no bench load reaches (the edge's own limits would answer 429 and end the run). */
export const UNLIMITED = {
  perIp: { rate: 1_000_000, burst: 1_000_000 },
  perToken: { rate: 1_000_000, burst: 1_000_000 },
};

export type BenchServer = Awaited<ReturnType<typeof startServer>>;

export interface EdgeUpstreams {
  /** A viewer's access token (1 h), as Keycloak would issue it for the site. */
  readonly token: string;
  /** The JWKS endpoint that verifies it (http://127.0.0.1:<port>/certs). */
  readonly jwksUrl: string;
  readonly echo: BenchServer;
  readonly edgeAuth: BenchServer;
  /** Ports of an upstream's URL, for startTestEdge's options. */
  port(server: BenchServer): number;
  stop(): Promise<void>;
}

/** Start the token's JWKS, the echo upstream and edge-auth from the checkout at `root`. */
export async function startEdgeUpstreams(root: string): Promise<EdgeUpstreams> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'RS256', use: 'sig' };
  const jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/certs`;
  const iat = Math.floor(Date.now() / 1000);
  const token = await new SignJWT({
    typ: 'Bearer',
    azp: 'isekai-site',
    preferred_username: 'bench1',
    realm_access: { roles: ['viewer'] },
  })
    .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid: 'bench' })
    .setIssuer(ISSUER)
    .setAudience(['isekai-api', 'account'])
    .setSubject('00000000-0000-4000-8000-000000000001')
    .setIssuedAt(iat)
    .setExpirationTime(iat + 3600)
    .sign(privateKey);

  const host = join(root, 'functions/lib/host/main.ts');
  const lean = (source: string, target: string) => [
    process.execPath,
    host,
    `--source=${join(root, source)}`,
    `--target=${target}`,
    '--host=127.0.0.1',
  ];
  const echo = await startServer(
    lean('bench/edge-echo.ts', 'edge-echo'),
    {},
    { cpu: 0, readyPath: '/anime/1', deadlineMs: 120_000 },
  );
  const edgeAuth = await startServer(
    lean('functions/edge-auth/index.ts', 'edge-auth'),
    { OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: 'isekai-api', OIDC_JWKS_URL: jwksUrl },
    { cpu: 0, readyPath: '/healthz', deadlineMs: 120_000 },
  ).catch(async (error: unknown) => {
    await echo.stop();
    jwks.close();
    throw error;
  });
  return {
    token,
    jwksUrl,
    echo,
    edgeAuth,
    port: (server) => Number(new URL(server.url).port),
    async stop() {
      await edgeAuth.stop();
      await echo.stop();
      jwks.close();
    },
  };
}
