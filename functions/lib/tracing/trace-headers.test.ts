import { describe, expect, it } from 'vitest';
import { extractTraceId, injectTraceHeaders, traceparentOf } from './trace-headers.ts';

const getter = (headers: Record<string, string>) => (name: string) => headers[name];

describe('trace context propagation', () => {
  it('reads W3C traceparent, including the sampled flag', () => {
    const id = extractTraceId(
      getter({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
    );
    expect(id?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(id?.spanId).toBe('00f067aa0ba902b7');
    expect(id?.sampled.getOrElse(false)).toBe(true);
  });

  it('prefers traceparent over B3 when both arrive', () => {
    const id = extractTraceId(
      getter({
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
        'x-b3-traceid': '1111111111111111',
        'x-b3-spanid': '2222222222222222',
      }),
    );
    expect(id?.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('reads B3 single and multi headers', () => {
    expect(
      extractTraceId(getter({ b3: '80f198ee56343ba864fe8b2a57d3eff7-e457b5a2e4d86bd1-1' }))?.spanId,
    ).toBe('e457b5a2e4d86bd1');
    const multi = extractTraceId(
      getter({ 'x-b3-traceid': 'a'.repeat(16), 'x-b3-spanid': 'b'.repeat(16), 'x-b3-sampled': '0' }),
    );
    expect(multi?.traceId).toBe('a'.repeat(16));
    expect(multi?.sampled.getOrElse(true)).toBe(false);
  });

  it.each([
    ['all-zero trace id', { traceparent: `00-${'0'.repeat(32)}-00f067aa0ba902b7-01` }],
    ['short span id', { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f0-01' }],
    [
      'version ff',
      { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'.replace(/^00/, 'ff') },
    ],
    ['garbage b3', { b3: 'not-a-trace' }],
    ['nothing', {}],
  ])('ignores an invalid context: %s', (_name, headers) => {
    expect(extractTraceId(getter(headers))).toBeUndefined();
  });

  it('writes W3C and B3 headers that round-trip', () => {
    const id = extractTraceId(
      getter({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }),
    );
    if (!id) throw new Error('expected a trace id');
    const headers = injectTraceHeaders(id);
    expect(headers.traceparent).toBe(traceparentOf(id));
    expect(
      extractTraceId(
        getter({
          'x-b3-traceid': headers['x-b3-traceid'] ?? '',
          'x-b3-spanid': headers['x-b3-spanid'] ?? '',
        }),
      )?.traceId,
    ).toBe(id.traceId);
  });
});
