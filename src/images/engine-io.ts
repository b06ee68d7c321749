/** Moving archives between the Docker engine and the store. */
import type { ImageEngine } from "../provider/runtime/index.js";
import type { Readable } from "node:stream";
import { ImageError } from "../errors.js";
import { throwIfAborted } from "./abort.js";
import type { ImageStore } from "./store.js";
import type { ImageHash, StoredImage } from "./types.js";

/** `docker save` an engine image into the store (hashing while writing); the archive's meta names `imageId`. */
export async function storeFromEngine(
  engine: ImageEngine,
  store: ImageStore,
  imageId: string,
  opts: { name?: string; signal?: AbortSignal; onBytes?: (total: number) => void } = {},
): Promise<StoredImage> {
  const archive = await engine.saveImage(imageId);
  return store.add(
    archive,
    { imageId, ...(opts.name === undefined ? {} : { name: opts.name }) },
    {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
    },
  );
}

/**
 * Load an archive file into the engine and return the image id it loaded as. Archives saved by id
 * report `sha256:…`; archives saved by tag report the tag, which is resolved through inspect.
 */
export async function loadArchive(engine: ImageEngine, archive: Readable): Promise<string> {
  const loaded = await engine.loadImage(archive);
  for (const ref of loaded) {
    if (/^sha256:[0-9a-f]{64}$/.test(ref)) return ref;
    const info = await engine.inspectImage(ref);
    if (info) return info.id;
  }
  throw new ImageError(`the archive loaded ${loaded.join(", ")} but the engine cannot find it`);
}

/**
 * Make sure the engine has the stored image `hash`, loading it from the store when the engine
 * lost it; returns its image id and archive size.
 */
export async function ensureLoaded(
  engine: ImageEngine,
  store: ImageStore,
  hash: ImageHash,
  opts: { signal?: AbortSignal; onLoad?: () => void } = {},
): Promise<{ imageId: string; sizeBytes: number }> {
  const stored = await store.get(hash);
  if (!stored) throw new ImageError(`image ${hash} is not in the store at ${store.root}`);
  await store.touch(hash);
  if (stored.imageId !== undefined && (await engine.inspectImage(stored.imageId)))
    return { imageId: stored.imageId, sizeBytes: stored.sizeBytes };
  throwIfAborted(opts.signal, `loading image ${hash}`);
  opts.onLoad?.();
  const archive = await store.open(hash);
  if (!archive) throw new ImageError(`image ${hash} vanished from the store at ${store.root}`);
  const imageId = await loadArchive(engine, archive);
  await store.setMeta(hash, { imageId, ...(stored.name === undefined ? {} : { name: stored.name }) });
  return { imageId, sizeBytes: stored.sizeBytes };
}
