/**
 * Provider-side image fetch: by hash, from the first source that has it, hashing while streaming
 * into the store's tmp/, loading into Docker only on a match, caching by hash. Concurrent
 * requests for one hash share one download.
 */
import type { Readable } from "node:stream";
import type { ImageEngine } from "../provider/runtime/index.js";
import { AgoraError, ImageError, SizeLimitError, TimeoutError, toAbortError } from "../errors.js";
import { ImageNotFoundError } from "./errors.js";
import { ensureLoaded } from "./engine-io.js";
import { receiveAndLoad, receiveThenLoad } from "./verified-load.js";
import { mapAbort, throwIfAborted } from "./abort.js";
import { parseImageHash } from "./hash.js";
import type { ImageStore } from "./store.js";
import type { FetchEvent, ImageHash, ImageSource } from "./types.js";
import { errorMessage } from "./util.js";

export interface ImageFetcherOptions {
  readonly engine: ImageEngine;
  readonly store: ImageStore;
  /** Tried in order until one has the image. @default [] */
  readonly sources: readonly ImageSource[];
  /** Fail a source that sends no bytes for this long (`TimeoutError`). @default 30_000 */
  readonly idleTimeoutMs: number;
  /** Refuse archives larger than this (`SizeLimitError`). @default 16 GiB */
  readonly maxBytes: number;
  /**
   * Feed the engine's load while the archive arrives, ending its input only once the hash matched
   * (see verified-load.ts); `false` loads from the verified temp file afterwards. @default true
   */
  readonly loadWhileReceiving: boolean;
  readonly onEvent?: (event: FetchEvent) => void;
}

export interface FetchedImage {
  readonly hash: ImageHash;
  readonly imageId: string;
  readonly sizeBytes: number;
  /** True when the store already had it (no download). */
  readonly cached: boolean;
}

interface Download {
  readonly promise: Promise<FetchedImage>;
  readonly controller: AbortController;
  waiters: number;
}

export class ImageFetcher {
  readonly options: Readonly<Omit<ImageFetcherOptions, "onEvent">>;
  readonly #emit: (event: FetchEvent) => void;
  readonly #downloads = new Map<ImageHash, Download>();

  constructor(options: Partial<ImageFetcherOptions> & Pick<ImageFetcherOptions, "engine" | "store">) {
    this.options = {
      engine: options.engine,
      store: options.store,
      sources: options.sources ?? [],
      idleTimeoutMs: options.idleTimeoutMs ?? 30_000,
      maxBytes: options.maxBytes ?? 16 * 2 ** 30,
      loadWhileReceiving: options.loadWhileReceiving ?? true,
    };
    this.#emit = options.onEvent ?? ((): void => undefined);
  }

  /**
   * Make sure the engine has the image `hash` (fetching and verifying it if needed); returns its
   * image id. `sources` are tried before the configured ones (e.g. the requestor that asked); a
   * request joining a fetch of the same hash already under way shares it, with that fetch's sources.
   */
  async fetch(
    hash: string,
    opts: { signal?: AbortSignal; sources?: readonly ImageSource[] } = {},
  ): Promise<FetchedImage> {
    const h = parseImageHash(hash);
    throwIfAborted(opts.signal, `fetching image ${h}`);
    let dl = this.#downloads.get(h);
    if (!dl) {
      const controller = new AbortController();
      const sources = [...(opts.sources ?? []), ...this.options.sources];
      const promise = this.#obtain(h, sources, controller.signal).finally(() => this.#downloads.delete(h));
      // Waiters that left (aborted) no longer listen; the outcome is still observed by the rest.
      promise.catch(() => undefined);
      dl = { promise, controller, waiters: 0 };
      this.#downloads.set(h, dl);
    }
    return this.#wait(dl, h, opts.signal);
  }

  /** Wait for a shared job; a caller's abort only aborts the job when no one else waits. */
  async #wait(dl: Download, hash: ImageHash, signal: AbortSignal | undefined): Promise<FetchedImage> {
    dl.waiters++;
    if (!signal) {
      try {
        return await dl.promise;
      } finally {
        dl.waiters--;
      }
    }
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = (): void => reject(toAbortError(signal, `fetching image ${hash}`));
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([dl.promise, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener("abort", onAbort);
      dl.waiters--;
      if (signal.aborted && dl.waiters === 0)
        dl.controller.abort(toAbortError(signal, `fetching image ${hash}`));
    }
  }

  /** From the store when it has the archive (loading it if the engine lost it), else from the sources. */
  async #obtain(
    hash: ImageHash,
    sources: readonly ImageSource[],
    signal: AbortSignal,
  ): Promise<FetchedImage> {
    const { engine, store } = this.options;
    if (!(await store.has(hash))) return this.#download(hash, sources, signal);
    const loaded = await mapAbort(signal, `loading image ${hash}`, () =>
      ensureLoaded(engine, store, hash, { signal }),
    );
    this.#emit({ type: "fetch.loaded", hash, imageId: loaded.imageId, cached: true });
    return { hash, ...loaded, cached: true };
  }

  async #download(
    hash: ImageHash,
    sources: readonly ImageSource[],
    signal: AbortSignal,
  ): Promise<FetchedImage> {
    if (sources.length === 0) throw new ImageNotFoundError(hash, "no image sources are configured");
    const missing: string[] = [];
    let failure: unknown;
    for (const source of sources) {
      throwIfAborted(signal, `fetching image ${hash}`);
      try {
        const got = await this.#fromSource(hash, source, signal);
        if (got) return got;
        missing.push(`${source.name}: not found`);
      } catch (err) {
        if (signal.aborted) throw toAbortError(signal, `fetching image ${hash}`, err);
        this.#emit({ type: "fetch.failed", hash, source: source.name, reason: errorMessage(err) });
        failure ??= err;
        missing.push(`${source.name}: ${errorMessage(err)}`);
      }
    }
    if (failure instanceof AgoraError) throw failure;
    if (failure !== undefined)
      throw new ImageError(`cannot fetch image ${hash}: ${missing.join("; ")}`, { cause: failure });
    throw new ImageNotFoundError(hash, `tried ${missing.join("; ")}`);
  }

  /** Download from one source into tmp/, verify, load, then commit; undefined when the source lacks it. */
  async #fromSource(
    hash: ImageHash,
    source: ImageSource,
    outer: AbortSignal,
  ): Promise<FetchedImage | undefined> {
    const { engine, store, idleTimeoutMs, maxBytes } = this.options;
    const guard = new AbortController();
    const what = `image ${hash} from ${source.name}`;
    let timer: NodeJS.Timeout | undefined;
    const kick = (): void => {
      clearTimeout(timer);
      timer = setTimeout(
        () => guard.abort(new TimeoutError(`${what} stalled: no data for ${idleTimeoutMs} ms`)),
        idleTimeoutMs,
      );
    };
    const signal = AbortSignal.any([outer, guard.signal]);
    let stream: Readable | undefined;
    try {
      kick();
      stream = await source.open(hash, { signal });
      if (!stream) return undefined;
      // A source may fail before the store attaches; the store's pipeline still sees that error.
      stream.on("error", () => undefined);
      this.#emit({ type: "fetch.started", hash, source: source.name });
      let reported = 0;
      const onBytes = (n: number): void => {
        kick();
        if (n > maxBytes) guard.abort(new SizeLimitError(`${what} is larger than ${maxBytes} bytes`));
        if (n - reported >= 16 << 20) {
          reported = n;
          this.#emit({ type: "fetch.bytes", hash, bytes: n });
        }
      };
      const onVerified = (n: number): void => {
        clearTimeout(timer);
        this.#emit({ type: "fetch.verified", hash, sizeBytes: n });
      };
      const path = await store.tempPath();
      const { sizeBytes, imageId } = this.options.loadWhileReceiving
        ? await receiveAndLoad(stream, {
            path,
            expected: hash,
            engine,
            signal,
            what,
            onBytes,
            onVerified,
            // Waiting on the engine is not the source stalling.
            onEngineBusy: (busy) => (busy ? clearTimeout(timer) : kick()),
          })
        : await receiveThenLoad(stream, { path, expected: hash, engine, signal, what, onBytes, onVerified });
      await store.commitFile(path, hash, { imageId });
      this.#emit({ type: "fetch.loaded", hash, imageId, cached: false });
      return { hash, imageId, sizeBytes, cached: false };
    } catch (err) {
      stream?.destroy();
      if (guard.signal.aborted && !outer.aborted) throw guard.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }
}
