/**
 * Receive an archive and load it, overlapped but safe: the bytes go to a temp file and to the
 * engine's load at once, hashed as they pass. The engine's input is *ended* only after the whole
 * archive hashed to the expected value; on a mismatch (or any failure) it is destroyed instead, so
 * the engine never sees a complete archive and loads nothing (`docker load` unpacks the whole
 * upload to a private temp folder before it registers anything; a cut upload fails).
 * This hides the download and the hashing behind the engine's own unpacking.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { once } from "node:events";
import { PassThrough, Writable, type Readable } from "node:stream";
import { finished, pipeline } from "node:stream/promises";
import type { ImageEngine } from "../provider/runtime/index.js";
import { ImageError, ImageHashMismatchError } from "../errors.js";
import { loadArchive } from "./engine-io.js";
import { writeHashed } from "./hash.js";
import type { ImageHash } from "./types.js";
import { errorMessage } from "./util.js";

export interface VerifiedLoadOptions {
  /** A new file that receives the archive (removed on any failure). */
  readonly path: string;
  readonly expected: ImageHash;
  readonly engine: ImageEngine;
  readonly signal: AbortSignal;
  /** Running byte count, after each chunk. */
  readonly onBytes?: (total: number) => void;
  /** The engine is applying backpressure (`true`) or caught up (`false`): not the source's stall. */
  readonly onEngineBusy?: (busy: boolean) => void;
  /** The source was received and matched; the engine is finishing the load. */
  readonly onVerified?: (sizeBytes: number) => void;
  /** Names the source in errors. */
  readonly what: string;
}

export interface VerifiedLoad {
  readonly sizeBytes: number;
  readonly imageId: string;
}

export async function receiveAndLoad(source: Readable, opts: VerifiedLoadOptions): Promise<VerifiedLoad> {
  const digest = createHash("sha256");
  let size = 0;
  const toEngine = new PassThrough({ highWaterMark: 4 << 20 });
  // Destroying it is how a load is cut off; the engine learns it through its own listeners.
  toEngine.on("error", () => undefined);
  const loading = loadArchive(opts.engine, toEngine);
  // The engine may refuse early (not an archive at all): stop feeding it, but keep receiving, so the
  // hash still decides between "other bytes than asked for" and "not a Docker image".
  let engineFailed = false;
  const engineGone = new Promise<void>((resolve) => {
    loading.catch(() => {
      engineFailed = true;
      resolve();
    });
  });
  const file = createWriteStream(opts.path, { flags: "wx", mode: 0o644, highWaterMark: 1 << 20 });

  const tee = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _enc, done) {
      digest.update(chunk);
      size += chunk.length;
      opts.onBytes?.(size);
      const fileOk = file.write(chunk);
      const engineOk = engineFailed || toEngine.write(chunk);
      if (fileOk && engineOk) return done();
      if (!engineOk) opts.onEngineBusy?.(true);
      Promise.all([
        fileOk ? undefined : once(file, "drain"),
        engineOk ? undefined : Promise.race([once(toEngine, "drain"), engineGone]),
      ]).then(() => {
        if (!engineOk) opts.onEngineBusy?.(false);
        done();
      }, done);
    },
    final(done) {
      file.end();
      finished(file).then(() => done(), done);
    },
  });

  // A failing file (disk full) fails the receive; after a destroy, late write errors land here too.
  file.on("error", (err) => tee.destroy(err));

  try {
    try {
      await pipeline(source, tee, { signal: opts.signal });
    } catch (err) {
      file.destroy();
      throw err;
    }
    const actual: ImageHash = `sha256:${digest.digest("hex")}`;
    if (actual !== opts.expected) throw new ImageHashMismatchError(opts.expected, actual);
    opts.onVerified?.(size);
    toEngine.end();
    try {
      return { sizeBytes: size, imageId: await loading };
    } catch (err) {
      throw notLoadable(opts.what, err);
    }
  } catch (err) {
    // Cut the engine's upload before it is complete: nothing gets loaded.
    toEngine.destroy(err instanceof Error ? err : new Error(String(err)));
    await loading.catch(() => undefined);
    await rm(opts.path, { force: true });
    throw err;
  }
}

/**
 * The plain order: receive into the file while hashing, compare, and only then load the file.
 * Nothing reaches the engine before the match; slower, as nothing overlaps.
 */
export async function receiveThenLoad(
  source: Readable,
  opts: Omit<VerifiedLoadOptions, "onEngineBusy">,
): Promise<VerifiedLoad> {
  const written = await writeHashed(source, opts.path, {
    signal: opts.signal,
    ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
  });
  try {
    if (written.hash !== opts.expected) throw new ImageHashMismatchError(opts.expected, written.hash);
    opts.onVerified?.(written.sizeBytes);
    try {
      const imageId = await loadArchive(opts.engine, createReadStream(opts.path, { highWaterMark: 1 << 20 }));
      return { sizeBytes: written.sizeBytes, imageId };
    } catch (err) {
      throw notLoadable(opts.what, err);
    }
  } catch (err) {
    await rm(opts.path, { force: true });
    throw err;
  }
}

function notLoadable(what: string, err: unknown): ImageError {
  return new ImageError(`${what} verified but is not a loadable Docker image archive: ${errorMessage(err)}`, {
    cause: err,
  });
}
