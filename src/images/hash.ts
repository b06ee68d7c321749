import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { UserError } from "../errors.js";
import type { ImageHash } from "./types.js";

const HASH_RE = /^sha256:[0-9a-f]{64}$/;

/** True when `value` is a well-formed `sha256:<64 hex>` image hash. */
export function isImageHash(value: string): value is ImageHash {
  return HASH_RE.test(value);
}

/** Parse a user-given image hash (a bare 64-hex digest is accepted too); throw a UserError naming it otherwise. */
export function parseImageHash(value: string): ImageHash {
  const v = value.trim().toLowerCase();
  const full = /^[0-9a-f]{64}$/.test(v) ? `sha256:${v}` : v;
  if (!isImageHash(full))
    throw new UserError(`not an image hash: ${JSON.stringify(value)} (expected sha256:<64 hex digits>)`);
  return full;
}

/** The hex part of a hash. */
export function hashHex(hash: ImageHash): string {
  return hash.slice("sha256:".length);
}

export interface HashedFile {
  readonly hash: ImageHash;
  readonly sizeBytes: number;
}

/**
 * Stream `source` into a new file at `path` while hashing it (sha256). On any failure the file is
 * removed before the error is rethrown. `onBytes` reports the running byte count.
 */
export async function writeHashed(
  source: Readable,
  path: string,
  opts: { signal?: AbortSignal; onBytes?: (total: number) => void } = {},
): Promise<HashedFile> {
  const digest = createHash("sha256");
  let size = 0;
  const tap = new Transform({
    highWaterMark: 1 << 20,
    transform(chunk: Buffer, _enc, done) {
      digest.update(chunk);
      size += chunk.length;
      opts.onBytes?.(size);
      done(null, chunk);
    },
  });
  try {
    await pipeline(
      source,
      tap,
      createWriteStream(path, { flags: "wx", mode: 0o644, highWaterMark: 1 << 20 }),
      opts.signal ? { signal: opts.signal } : {},
    );
  } catch (err) {
    await rm(path, { force: true });
    throw err;
  }
  return { hash: `sha256:${digest.digest("hex")}`, sizeBytes: size };
}
