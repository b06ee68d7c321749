/** Request/reply plumbing shared by both buses: one deadline, abort, close, and listener cleanup. */
import { AbortError, TimeoutError } from "../errors.js";
import { toAbortError } from "../errors.js";
import { AsyncQueue } from "./async-queue.js";
import { BusClosedError } from "./errors.js";
import type { RequestManyOptions, RequestOptions } from "./types.js";

/**
 * Await one reply. `start` sends the request and wires `deliver`/`fail`; it returns its cleanup.
 * `closers` is the bus's set of close hooks: a bus that closes fails the request.
 */
export function awaitReply(
  subject: string,
  opts: RequestOptions,
  closers: Set<() => void>,
  start: (deliver: (data: Uint8Array) => void, fail: (err: Error) => void) => () => void,
): Promise<Uint8Array> {
  const { signal } = opts;
  if (signal?.aborted) return Promise.reject(toAbortError(signal, `request on ${subject}`));
  return new Promise<Uint8Array>((resolve, reject) => {
    let cleanup: (() => void) | undefined;
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      closers.delete(onClose);
      cleanup?.();
      fn();
    };
    const timer = setTimeout(
      () =>
        finish(() =>
          reject(new TimeoutError(`request on "${subject}" timed out after ${opts.timeoutMs} ms`)),
        ),
      opts.timeoutMs,
    );
    const onAbort = (): void => finish(() => reject(toAbortError(signal!, `request on ${subject}`)));
    const onClose = (): void => finish(() => reject(new BusClosedError(`request on ${subject}`)));
    signal?.addEventListener("abort", onAbort, { once: true });
    closers.add(onClose);
    try {
      cleanup = start(
        (data) => finish(() => resolve(data)),
        (err) => finish(() => reject(err)),
      );
      if (done) cleanup();
    } catch (err) {
      finish(() => reject(err instanceof Error ? err : new Error(String(err))));
    }
  });
}

/**
 * Gather replies for `maxWaitMs`. `start` sends the request, wires `deliver`/`end` and returns its
 * cleanup. An abort ends the iteration with `AbortError`; the deadline or a closing bus ends it.
 */
export function collectReplies(
  subject: string,
  opts: RequestManyOptions,
  closers: Set<() => void>,
  start: (deliver: (data: Uint8Array) => void, end: () => void) => () => void,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]: () => {
      const { signal } = opts;
      let cleanup: (() => void) | undefined;
      const queue = new AsyncQueue<Uint8Array>(() => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        closers.delete(onClose);
        cleanup?.();
      });
      const onAbort = (): void => queue.end(toAbortError(signal!, `requestMany on ${subject}`));
      const onClose = (): void => queue.end();
      const timer = setTimeout(() => queue.end(), opts.maxWaitMs);
      if (signal?.aborted) {
        queue.end(new AbortError(`requestMany on ${subject} was aborted`, { cause: signal.reason }));
      } else {
        signal?.addEventListener("abort", onAbort, { once: true });
        closers.add(onClose);
        try {
          cleanup = start(
            (data) => queue.push(data),
            () => queue.end(),
          );
        } catch (err) {
          queue.end(err instanceof Error ? err : new Error(String(err)));
        }
      }
      return queue[Symbol.asyncIterator]();
    },
  };
}
