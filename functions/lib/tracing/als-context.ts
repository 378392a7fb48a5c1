import { AsyncLocalStorage } from 'node:async_hooks';
import type zipkin from 'zipkin';

/**
 * A zipkin Context kept in AsyncLocalStorage: survives `await`, never mixes concurrent requests,
 * patches nothing (zipkin-context-cls does both, in one mode or the other).
 */
export class AlsContext<T> implements zipkin.Context<T> {
  readonly #storage = new AsyncLocalStorage<{ value: T }>();
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
