/** A push-to-pull queue: producers `push`, one consumer iterates; `end` finishes it (with an error or not). */
export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #waiter: { resolve: () => void } | undefined;
  #ended = false;
  #error: Error | undefined;
  #onReturn: (() => void) | undefined;

  /** `onReturn` runs once when the consumer stops (break, return, end). */
  constructor(onReturn?: () => void) {
    this.#onReturn = onReturn;
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(item: T): void {
    if (this.#ended) return;
    this.#items.push(item);
    this.#wake();
  }

  end(error?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#wake();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  }

  #finish(): void {
    const onReturn = this.#onReturn;
    this.#onReturn = undefined;
    onReturn?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      for (;;) {
        const item = this.#items.shift();
        if (item !== undefined) {
          yield item;
          continue;
        }
        if (this.#ended) {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => (this.#waiter = { resolve }));
      }
    } finally {
      this.#ended = true;
      this.#finish();
    }
  }
}
