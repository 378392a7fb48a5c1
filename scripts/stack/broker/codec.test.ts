import type { CloudEventV1 } from 'cloudevents';
import { describe, expect, it } from 'vitest';
import { toBinary } from '../../../functions/lib/events/encode.ts';
import { toAmqp } from './codec.ts';

/** What the ingress published before it mapped attributes itself: the SDK's binary mode, `ce-` dropped. */
function viaSdk(event: CloudEventV1<unknown>, trace: { traceparent?: string; tracestate?: string }) {
  const binary = toBinary(event);
  const headers: Record<string, string> = { 'content-type': binary.headers['content-type'] ?? '' };
  for (const [name, value] of Object.entries(binary.headers)) {
    if (name.startsWith('ce-') && name !== 'ce-traceparent' && name !== 'ce-tracestate')
      headers[name.slice(3)] = value;
  }
  const own = event as { traceparent?: unknown; tracestate?: unknown };
  const traceparent =
    trace.traceparent ?? (typeof own.traceparent === 'string' ? own.traceparent : undefined);
  const tracestate = trace.tracestate ?? (typeof own.tracestate === 'string' ? own.tracestate : undefined);
  if (traceparent) headers.traceparent = traceparent;
  if (tracestate) headers.tracestate = tracestate;
  return { headers, content: Buffer.from(binary.body) };
}

const base = {
  specversion: '1.0',
  id: 'e-1',
  type: 'dev.isekai.episode.aired.v1',
  source: '/functions/library',
  data: { animeId: 7, episode: 3, airedAt: '2026-11-23T16:00:00Z' },
} as const;
const TRACE = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' };

describe('toAmqp', () => {
  it.each([
    ['the core attributes', { ...base }],
    [
      'subject, time with microseconds, content type with parameters, dataschema',
      {
        ...base,
        subject: '7',
        time: '2026-11-23T16:00:00.123456Z',
        datacontenttype: 'application/json; charset=utf-8',
        dataschema: 'https://isekai.dev/schemas/episode.aired.v1.json',
      },
    ],
    ['extensions of each type', { ...base, partner: 'abc', priority: 5, replay: true }],
    [
      'the event’s own trace context, replaced by the live one',
      { ...base, traceparent: 'x', tracestate: 'a=b' },
    ],
  ])('maps %s as the SDK’s binary mode did', (_name, event) => {
    const mine = toAmqp(event as CloudEventV1<unknown>, TRACE);
    const sdk = viaSdk(event as CloudEventV1<unknown>, TRACE);
    expect(mine.headers).toEqual(sdk.headers);
    expect(mine.content.equals(sdk.content)).toBe(true);
  });

  it('passes the data bytes through as they arrived when given', () => {
    const bytes = Buffer.from('{ "animeId": 7,\n "episode": 3, "airedAt": "2026-11-23T16:00:00Z" }');
    expect(toAmqp(base as CloudEventV1<unknown>, TRACE, bytes).content).toBe(bytes);
  });

  it('sends an event without data with an empty body', () => {
    const { data: _data, ...bare } = base;
    expect(toAmqp(bare as CloudEventV1<unknown>).content.length).toBe(0);
  });
});
