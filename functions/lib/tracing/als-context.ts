import { AsyncLocalStorage } from 'node:async_hooks';
import type zipkin from 'zipkin';

/**
 * The one store of the current trace context for the whole process: a trace context belongs to an async
 * flow (a request, an event), not to a tracer, so every tracer's `AlsContext` reads and writes the same
 * store and code that has no tracer at hand (`newEvent`) can read it too (`currentTraceContext`).
 */
const storage = new AsyncLocalStorage<{ value: unknown }>();

/** The trace context of the current async flow (what the innermost `letContext`/`scoped` set), if any. */
export function currentTraceContext<T = zipkin.TraceId>(): T | undefined {
  return storage.getStore()?.value as T | undefined;
}

/**
 * Run `fn(a, b)` with `ctx` as the current trace context (what `tracer.letId(ctx, () => fn(a, b))` does,
 * without a closure per call: the HTTP pipeline's hot path). Returns what `fn` returns.
 */
export function withTraceContext<C, A, B, R>(ctx: C, fn: (a: A, b: B) => R, a: A, b: B): R {
  return storage.run({ value: ctx }, fn, a, b);
}

/**
 * A zipkin Context kept in AsyncLocalStorage: survives `await`, never mixes concurrent requests,
 * patches nothing (zipkin-context-cls does both, in one mode or the other).
 */
export class AlsContext<T> implements zipkin.Context<T> {
  readonly #storage = storage as AsyncLocalStorage<{ value: T }>;
  readonly #root: T;

  constructor(root: T) {
    this.#root = root;
  }

  setContext(ctx: T): void {
    const store = this.#storage.getStore();
    if (store) store.value = ctx;
  }

  getContext(): T {
    return this.#storage.getStore()?.value ?? this.#root;
  }

  scoped<V>(callback: () => V): V {
    return this.#storage.run({ value: this.getContext() }, callback);
  }

  letContext<V>(ctx: T, callback: () => V): V {
    return this.#storage.run({ value: ctx }, callback);
  }
}
