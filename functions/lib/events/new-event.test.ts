import { describe, expect, it } from 'vitest';
import type { IsekaiError } from '../errors.ts';
import { createTracing } from '../tracing/tracer.ts';
import { newEvent } from './new-event.ts';

const episodeRated = {
  animeId: 7,
  userId: 'u1',
  episode: 3,
  score: 8,
  previousScore: null,
  aggregate: { count: 1, mean: 8 },
  ratedAt: '2026-11-23T16:00:00.000Z',
};

describe('newEvent', () => {
  it('fills id, time, source (the catalogue producer), subject (data.animeId) and dataschema', () => {
    const event = newEvent('dev.isekai.episode.rated.v1', episodeRated);
    expect(event).toMatchObject({
      specversion: '1.0',
      type: 'dev.isekai.episode.rated.v1',
      source: '/functions/rate-anime',
      subject: '7',
      datacontenttype: 'application/json',
      dataschema: 'https://isekai.dev/events/schemas/dev.isekai.episode.rated.v1.schema.json',
      data: episodeRated,
    });
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(String(event.time))).not.toBeNaN();
    expect(Object.isFrozen(event)).toBe(true);
    expect(event).not.toHaveProperty('traceparent');
  });

  it('carries the trace context of the request being handled', () => {
    const { tracer } = createTracing({ serviceName: 'test' });
    const id = tracer.createRootId();
    const event = tracer.letId(id, () => newEvent('dev.isekai.episode.rated.v1', episodeRated));
    expect(event.traceparent).toBe(`00-${id.traceId}-${id.spanId}-01`);
  });

  it('refuses an invalid event before anything is written', () => {
    const attempt = (type: string, data: object) => {
      try {
        newEvent(type, data);
      } catch (error) {
        return (error as IsekaiError).code;
      }
      return 'built';
    };
    expect(attempt('dev.isekai.episode.rated.v1', { ...episodeRated, score: 11 })).toBe('validation_failed');
    expect(attempt('dev.isekai.unknown.v1', episodeRated)).toBe('validation_failed');
  });
});
