import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { pingSources } from '../manifests/load.ts';
import { type LocalPingSources, startPingSources } from './ping-sources.ts';

let running: LocalPingSources | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

describe('local PingSources (npm start)', () => {
  it('schedules the PingSources of knative/base whose function runs here', () => {
    running = startPingSources({ functionPort: () => 1, services: ['outbox-relay', 'notify'] });
    expect(running.lines).toEqual([
      'outbox-relay-tick → outbox-relay (* * * * *)',
      'notify-mail-tick → notify (*/5 * * * *)',
    ]);
  });

  it('ticks its function on schedule with a binary dev.knative.sources.ping event carrying the data', async () => {
    const received: { headers: IncomingHttpHeaders; body: string }[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const relayTick = pingSources().find((s) => s.name === 'outbox-relay-tick');
    if (!relayTick) throw new Error('no PingSource in knative/base');
    const statuses: (number | undefined)[] = [];
    try {
      running = startPingSources({
        functionPort: (name) => (name === 'outbox-relay' ? port : 1),
        services: ['outbox-relay'],
        // Every second (croner's seconds field), so the test need not wait a minute.
        sources: [{ ...relayTick, schedule: '* * * * * *' }],
        onTick: (tick) => statuses.push(tick.status),
      });
      const deadline = Date.now() + 5_000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      await running.stop();
      expect(received[0]?.headers).toMatchObject({
        'ce-specversion': '1.0',
        'ce-type': 'dev.knative.sources.ping',
        'ce-source': '/apis/v1/namespaces/isekai/pingsources/outbox-relay-tick',
        'content-type': 'application/json',
      });
      expect(JSON.parse(received[0]?.body ?? '')).toEqual({ maxRows: 500 });
      expect(statuses[0]).toBe(204);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
