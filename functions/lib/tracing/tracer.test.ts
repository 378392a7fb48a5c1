import { describe, expect, it } from 'vitest';
import zipkin from 'zipkin';
import { createTracing } from './tracer.ts';

const { ExplicitContext, option, sampler, TraceId, Tracer } = zipkin;
const decisions = (n: number, decide: () => boolean) => Array.from({ length: n }, decide);

describe('createTracing ids', () => {
  it('makes root ids like zipkin: 128-bit trace, 64-bit span, no parent, all distinct', () => {
    const { rootId } = createTracing({ serviceName: 't' });
    const ids = Array.from({ length: 2000 }, rootId);
    for (const id of ids.slice(0, 5)) {
      expect(id.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(id.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(id.parentSpanId.present).toBe(false);
      expect(id.isDebug()).toBe(false);
    }
    expect(new Set(ids.map((id) => id.traceId)).size).toBe(ids.length);
    expect(new Set(ids.map((id) => id.spanId)).size).toBe(ids.length);
  });

  it.each([0, 0.25, 0.5, 1])(
    'samples root ids as zipkin CountingSampler does, shared with the tracer (rate %s)',
    (rate) => {
      const tracing = createTracing({ serviceName: 't', sampleRate: rate });
      // What the tracer was before: zipkin's own, with its CountingSampler (its constructor's sentinel id
      // takes the first decision, in both).
      const reference = new Tracer({
        ctxImpl: new ExplicitContext(),
        recorder: { record: () => undefined } as unknown as zipkin.Recorder,
        sampler: new sampler.CountingSampler(rate),
        traceId128Bit: true,
      });
      const expected = decisions(12, () => reference.createRootId().sampled.getOrElse(false));
      // Alternating our fast path and zipkin's own createRootId: one counter for both.
      const got = decisions(12, () =>
        (Math.random() < 0.5 ? tracing.rootId() : tracing.tracer.createRootId()).sampled.getOrElse(false),
      );
      expect(got).toEqual(expected);
    },
  );

  it("makes child ids as tracer.createChildId does: the parent's trace and decision, a new span", () => {
    const tracing = createTracing({ serviceName: 't', sampleRate: 0 });
    const parents = [
      new TraceId({ traceId: 'b'.repeat(32), spanId: 'c'.repeat(16), sampled: new option.Some(true) }),
      new TraceId({ traceId: 'd'.repeat(16), spanId: 'e'.repeat(16), sampled: new option.Some(false) }),
      new TraceId({ traceId: 'f'.repeat(32), spanId: '1'.repeat(16), sampled: option.None }),
      new TraceId({ traceId: '2'.repeat(32), spanId: '3'.repeat(16), sampled: option.None, debug: true }),
    ];
    const shape = (id: zipkin.TraceId) => ({
      traceId: id.traceId,
      parent: id.parentSpanId.getOrElse('none'),
      sampled: id.sampled.present ? id.sampled.getOrElse(false) : 'undecided',
      debug: id.isDebug(),
    });
    for (const parent of parents) {
      const ours = tracing.childId(parent);
      expect(shape(ours)).toEqual(shape(tracing.tracer.createChildId(parent)));
      expect(ours.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(ours.spanId).not.toBe(parent.spanId);
    }
  });
});
