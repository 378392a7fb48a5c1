import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { json } from '../../../test/support/http.ts';
import { received } from './fixtures.ts';
import { createHostServer } from './server.ts';

/**
 * Conformance-style checks run against both hosts we ship: functions-framework's own server
 * (getTestServer) and the lean host. The same registered functions must behave the same.
 */
async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const hosts = {
  'functions-framework': (target: string) => getTestServer(target),
  'lean host': (target: string) => createHostServer({ target, onEventError: () => undefined }),
};

describe.each(Object.entries(hosts))('%s', (_name, make) => {
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  beforeAll(async () => {
    for (const target of ['host-hello', 'host-express-style', 'host-events']) {
      const server = make(target);
      servers.push(server);
      urls[target] = await listen(server);
    }
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('serves an HTTP function', async () => {
    const res = await fetch(`${urls['host-hello']}/any/path`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('hello GET');
  });

  it('offers the Express conveniences functions commonly use', async () => {
    const res = await fetch(`${urls['host-express-style']}/`, { headers: { 'x-send': 'abc' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-got')).toBe('abc');
    expect(await json(res)).toEqual({ ok: true });
  });

  it('delivers a binary-mode CloudEvent with its extensions', async () => {
    const res = await fetch(urls['host-events'] ?? '', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': `bin-${_name}`,
        'ce-source': '/test',
        'ce-type': 'test.ok',
        'ce-traceparent': '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
      body: JSON.stringify({ n: 1 }),
    });
    expect(res.status).toBe(204);
    expect(received.at(-1)).toEqual({
      id: `bin-${_name}`,
      type: 'test.ok',
      data: { n: 1 },
      traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
    });
  });

  it('delivers a structured-mode CloudEvent', async () => {
    const res = await fetch(urls['host-events'] ?? '', {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify({
        specversion: '1.0',
        id: `str-${_name}`,
        source: '/test',
        type: 'test.ok',
        datacontenttype: 'application/json',
        data: { n: 2 },
      }),
    });
    expect(res.status).toBe(204);
    expect(received.at(-1)?.id).toBe(`str-${_name}`);
    expect(received.at(-1)?.data).toEqual({ n: 2 });
  });

  it('answers a failing CloudEvent function with a non-2xx so the broker retries or dead-letters', async () => {
    for (const type of ['test.fail.permanent', 'test.fail.transient']) {
      const res = await fetch(urls['host-events'] ?? '', {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'ce-specversion': '1.0',
          'ce-id': type,
          'ce-source': '/t',
          'ce-type': type,
        },
        body: '{}',
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
    }
  });
});

describe('lean host specifics', () => {
  let url = '';
  let server: Server;
  beforeAll(async () => {
    server = createHostServer({ target: 'host-events', onEventError: () => undefined });
    url = await listen(server);
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  it.each([
    ['a permanent error → 400 problem, not retried', 'test.fail.permanent', 400, 'validation_failed'],
    ['a transient error → 500 problem, retried', 'test.fail.transient', 500, 'internal'],
  ])('%s', async (_name, type, status, code) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': 'x',
        'ce-source': '/t',
        'ce-type': type,
      },
      body: '{}',
    });
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect((await json(res)).code).toBe(code);
  });

  it('answers the probes Knative sends with GET', async () => {
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    expect((await fetch(`${url}/metrics`)).status).toBe(200);
    expect((await fetch(`${url}/elsewhere`)).status).toBe(405);
  });

  it('refuses a request that is not a CloudEvent with 400 problem+json', async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(400);
    expect((await json(res)).code).toBe('validation_failed');
  });
});
