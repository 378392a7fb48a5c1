import { createServer, type IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSignedCert } from '../nginx/run.ts';
import { type FloorProxy, startFloorProxy } from './edge-floor.ts';
import { freePort } from './lib.ts';

const prefix = join(new URL('..', import.meta.url).pathname, '.tmp', 'nginx-edge-floor-test');

describe('the TLS proxy floor of bench edge (real nginx)', () => {
  const seen: IncomingHttpHeaders[] = [];
  const upstream = createServer((req, res) => {
    seen.push(req.headers);
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":1}');
  });
  let floor: FloorProxy;
  let ca: string;

  beforeAll(async () => {
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const tls = await selfSignedCert(prefix, 'isekai.localhost');
    ca = tls.pem;
    floor = await startFloorProxy({
      prefix,
      port: await freePort(),
      upstreamPort: (upstream.address() as AddressInfo).port,
      certificate: tls.certificate,
      key: tls.key,
      cpu: 0,
    });
  });
  afterAll(async () => {
    await floor?.stop();
    await new Promise((resolve) => upstream.close(resolve));
  });

  const get = (headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: floor.port,
          servername: 'api.isekai.localhost',
          ca,
          path: '/anime/1',
          headers,
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => {
            body += c.toString();
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on('error', reject);
      req.end();
    });

  it('terminates TLS and proxies with keep-alive, passing a bearer token on as it came', async () => {
    const res = await get({ host: 'api.isekai.localhost', authorization: 'Bearer abc.def.ghi' });
    expect(res).toEqual({ status: 200, body: '{"id":1}' });
    const last = seen.at(-1);
    expect(last?.authorization).toBe('Bearer abc.def.ghi');
    expect(last?.host).toBe('echo');
    // HTTP/1.1 to the upstream with no `Connection: close`: the connection is kept for the next request.
    expect(last?.connection).toBeUndefined();
  });
});
