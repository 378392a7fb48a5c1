import { describe, expect, it } from 'vitest';
import { createHttpTransport } from '../../../functions/lib/events/transport.ts';
import { createRuntime } from '../../../functions/lib/runtime.ts';
import { startLocalBroker } from './local.ts';

describe('startLocalBroker without AMQP_URL', () => {
  it('serves a K_SINK that refuses events as dependency_unavailable, so producers keep them in the outbox', async () => {
    const broker = await startLocalBroker({ amqpUrl: undefined, port: 0, functionPort: () => 1 });
    try {
      expect(broker.mode).toBe('outbox-only');
      expect(broker.ingressUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/isekai\/default$/);
      const send = createHttpTransport({
        runtime: createRuntime('producer', { env: { LOG_LEVEL: 'silent' } }),
        sink: broker.ingressUrl,
      });
      const error = await send({
        specversion: '1.0',
        id: 'local-1',
        type: 'dev.isekai.episode.aired.v1',
        source: '/functions/library',
        subject: '1',
        data: { animeId: 1, episode: 1, airedAt: '2026-11-23T16:00:00Z' },
      }).catch((e: { code: string; transient: boolean }) => e);
      expect(error).toMatchObject({ code: 'dependency_unavailable', transient: true });
    } finally {
      await broker.stop();
    }
  });
});
