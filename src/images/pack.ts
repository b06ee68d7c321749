/** `agora image pack`: turn any local Docker image into an agora image (like Golem's gvmkit-build). */
import type { ImageEngine } from "../provider/runtime/index.js";
import { UserError } from "../errors.js";
import { storeFromEngine } from "./engine-io.js";
import type { ImageStore } from "./store.js";
import type { BuiltImage } from "./types.js";

export interface PackedImage extends BuiltImage {
  /** What the image lacks to run well under Agora (root user, no golem volumes). */
  readonly warnings: readonly string[];
}

/** Save the local Docker image `ref` into the store, hashing while writing; returns its agora hash. */
export async function packImage(
  engine: ImageEngine,
  store: ImageStore,
  ref: string,
  opts: { signal?: AbortSignal; onBytes?: (total: number) => void } = {},
): Promise<PackedImage> {
  const info = await engine.inspectImage(ref);
  if (!info) throw new UserError(`there is no local Docker image ${JSON.stringify(ref)} to pack`);
  const stored = await storeFromEngine(engine, store, info.id, { name: ref, ...opts });
  const warnings: string[] = [];
  if (info.user === "" || info.user === "root" || info.user === "0" || info.user.startsWith("0:"))
    warnings.push("the image runs as root: Agora providers run containers as a non-root user, set USER");
  if (!info.volumes.some((v) => v.startsWith("/golem/")))
    warnings.push("the image declares no /golem/* volumes: transfers can only touch declared volumes");
  return { hash: stored.hash, imageId: info.id, sizeBytes: stored.sizeBytes, cached: false, warnings };
}
