import { toAbortError } from "../errors.js";

/** Throw our `AbortError` (not a DOMException) when `signal` has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw toAbortError(signal, what);
}

/** Run `fn`; when `signal` fired meanwhile, whatever it threw becomes our `AbortError`. */
export async function mapAbort<T>(
  signal: AbortSignal | undefined,
  what: string,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (signal?.aborted) throw toAbortError(signal, what, err);
    throw err;
  }
}
