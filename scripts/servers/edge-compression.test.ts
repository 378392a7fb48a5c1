import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiDocsFiles } from '../../nginx/docs.ts';
import { edgeRequest, startTestEdge, type TestEdge } from './nginx.ts';

/**
 * Large assets leave the edge compressed: the API reference's script (`/docs/scalar.js`, 4.3 MB
 * `text/javascript`, a file nginx serves) and the site's jassub wasm (`/_astro/*.wasm`, proxied from the
 * SSR server, which marks hashed assets immutable). A real nginx (local render); the site is a small
 * HTTP server answering as @astrojs/node's static handler does.
 */
const REPO = join(import.meta.dirname, '../..');
const WASM = join(REPO, 'node_modules', 'jassub', 'dist', 'wasm', 'jassub-worker.wasm');
const WASM_PATH = '/_astro/jassub-worker.B1x2c3d4.wasm';

let edge: TestEdge;
let site: Server;
let wasm: Buffer;

beforeAll(async () => {
  wasm = await readFile(WASM);
  site = createServer((req, res) => {
    if (req.url !== WASM_PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, {
      'content-type': 'application/wasm',
      'cache-control': 'public, max-age=31536000, immutable',
      'content-length': wasm.length,
    });
    res.end(wasm);
  });
  await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
  const sitePort = (site.address() as AddressInfo).port;
  // Functions and Keycloak are never reached: the docs are static and the site is proxied.
  edge = await startTestEdge('compression', {
    functions: {},
    defaultPort: 9,
    keycloakUrl: 'http://127.0.0.1:9',
    overrides: { site: { address: `127.0.0.1:${sitePort}` } },
  });
}, 30_000);

afterAll(async () => {
  await edge?.stop();
  await new Promise((r) => site?.close(r));
});

describe('compression at the edge', () => {
  it('gzips /docs/scalar.js for a client that accepts it, and the body decompresses to the file', async () => {
    const original = await readFile(apiDocsFiles({ target: 'local' }).script);
    const res = await edgeRequest(edge, 'api', {
      path: '/docs/scalar.js',
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/javascript/);
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers.vary).toMatch(/Accept-Encoding/);
    expect(res.raw.length).toBeLessThan(original.length / 2);
    expect(gunzipSync(res.raw).equals(original)).toBe(true);
  });

  it('sends /docs/scalar.js as is to a client that does not accept gzip', async () => {
    const res = await edgeRequest(edge, 'api', { path: '/docs/scalar.js' });
    expect(res.headers['content-encoding']).toBeUndefined();
    expect(res.raw.equals(await readFile(apiDocsFiles({ target: 'local' }).script))).toBe(true);
  });

  it('gzips the site’s wasm and keeps its immutable caching', async () => {
    const res = await edgeRequest(edge, '', { path: WASM_PATH, headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/wasm');
    expect(res.headers['content-encoding']).toBe('gzip');
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(res.raw.length).toBeLessThan(wasm.length);
    expect(gunzipSync(res.raw).equals(wasm)).toBe(true);
  });
});
