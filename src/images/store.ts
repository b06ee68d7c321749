/**
 * The content-addressed image store. Layout under `root` (default `$AGORA_HOME/images`, AGORA_HOME
 * defaulting to `~/.agora`):
 *
 *   sha256/<hex>.tar    a `docker save` archive whose sha256 is <hex>; its mtime is its last use
 *   sha256/<hex>.json   metadata: the Docker image id it loads as, a human name
 *   recipes/<key>.json  which hash a recipe (by content key) built
 *   tmp/                archives being received; renamed into sha256/ only once verified
 *
 * Nothing ever appears under a hash name half-written: archives are written to tmp/ and renamed.
 */
import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readdir, readFile, rename, rm, stat, utimes, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { z } from "zod";
import { ImageHashMismatchError } from "../errors.js";
import { hashHex, isImageHash, writeHashed } from "./hash.js";
import type { ImageHash, ImageMeta, StoredImage } from "./types.js";
import { isNotFound } from "./util.js";

export interface ImageStoreOptions {
  /** Folder of the store. @default `$AGORA_HOME/images`, AGORA_HOME defaulting to `~/.agora` */
  readonly root: string;
  /** Evict least recently used archives when the total passes this many bytes. @default Infinity */
  readonly maxBytes: number;
  /**
   * Called after an archive was evicted, e.g. to remove its image from the engine too (a provider's
   * image cache). Its failure fails the store operation that evicted. @default none
   */
  readonly onEvict?: (image: StoredImage) => void | Promise<void>;
}

/** The default store folder: `$AGORA_HOME/images`, or `~/.agora/images`. */
export function defaultImageStoreRoot(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.AGORA_HOME ?? join(homedir(), ".agora"), "images");
}

/** An archive received into tmp/, hashed, not yet in the store. */
export interface StagedArchive {
  readonly hash: ImageHash;
  readonly sizeBytes: number;
  /** The temporary file (valid until commit or discard). */
  readonly path: string;
  /** Move it into the store under its hash, with its metadata. */
  commit(meta: ImageMeta): Promise<StoredImage>;
  /** Delete the temporary file. Safe to call twice. */
  discard(): Promise<void>;
}

const metaSchema = z.object({ imageId: z.string().optional(), name: z.string().optional() });
const recipeRefSchema = z.object({ hash: z.string().refine(isImageHash) });

export class ImageStore {
  readonly options: Readonly<ImageStoreOptions>;

  constructor(options: Partial<ImageStoreOptions> = {}) {
    this.options = {
      root: options.root ?? defaultImageStoreRoot(),
      maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
      ...(options.onEvict ? { onEvict: options.onEvict } : {}),
    };
  }

  get root(): string {
    return this.options.root;
  }

  /** Path of the archive for `hash` (which may not exist). */
  archivePath(hash: ImageHash): string {
    return join(this.root, "sha256", `${hashHex(hash)}.tar`);
  }

  #metaPath(hash: ImageHash): string {
    return join(this.root, "sha256", `${hashHex(hash)}.json`);
  }

  async #dirs(): Promise<void> {
    await mkdir(join(this.root, "sha256"), { recursive: true });
    await mkdir(join(this.root, "tmp"), { recursive: true });
    await mkdir(join(this.root, "recipes"), { recursive: true });
  }

  /** The stored archive's record, or undefined. */
  async get(hash: ImageHash): Promise<StoredImage | undefined> {
    let st;
    try {
      st = await stat(this.archivePath(hash));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
    const meta = await this.#readMeta(hash);
    return { hash, sizeBytes: st.size, lastUsed: st.mtime, ...meta };
  }

  async has(hash: ImageHash): Promise<boolean> {
    return (await this.get(hash)) !== undefined;
  }

  /** Every stored archive, most recently used first. */
  async list(): Promise<StoredImage[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, "sha256"));
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    const out: StoredImage[] = [];
    for (const n of names) {
      const hash = `sha256:${n.slice(0, -".tar".length)}`;
      if (!n.endsWith(".tar") || !isImageHash(hash)) continue;
      const img = await this.get(hash);
      if (img) out.push(img);
    }
    return out.sort((a, b) => b.lastUsed.getTime() - a.lastUsed.getTime());
  }

  /** Total bytes of stored archives. */
  async totalBytes(): Promise<number> {
    return (await this.list()).reduce((n, i) => n + i.sizeBytes, 0);
  }

  /** Remove an archive and its metadata; false when it was not there. */
  async remove(hash: ImageHash): Promise<boolean> {
    const had = await this.has(hash);
    await rm(this.archivePath(hash), { force: true });
    await rm(this.#metaPath(hash), { force: true });
    return had;
  }

  /** Mark an archive used now (LRU). */
  async touch(hash: ImageHash): Promise<void> {
    const now = new Date();
    try {
      await utimes(this.archivePath(hash), now, now);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Open a stored archive for reading (and mark it used); undefined when absent. */
  async open(hash: ImageHash): Promise<Readable | undefined> {
    if (!(await this.has(hash))) return undefined;
    await this.touch(hash);
    return createReadStream(this.archivePath(hash), { highWaterMark: 1 << 20 });
  }

  /** Record the image id (or name) an archive loads as. */
  async setMeta(hash: ImageHash, meta: ImageMeta): Promise<void> {
    await this.#dirs();
    await atomicWrite(join(this.root, "tmp"), this.#metaPath(hash), JSON.stringify(meta));
  }

  async #readMeta(hash: ImageHash): Promise<ImageMeta> {
    try {
      const parsed = metaSchema.safeParse(JSON.parse(await readFile(this.#metaPath(hash), "utf8")));
      if (!parsed.success) return {};
      const { imageId, name } = parsed.data;
      return { ...(imageId === undefined ? {} : { imageId }), ...(name === undefined ? {} : { name }) };
    } catch {
      return {};
    }
  }

  /**
   * Stream an archive into tmp/ while hashing it. With `expected`, a different hash ends in
   * `ImageHashMismatchError` and the temporary file is gone. Any failure removes it too.
   */
  async receive(
    source: Readable,
    opts: { expected?: ImageHash; signal?: AbortSignal; onBytes?: (total: number) => void } = {},
  ): Promise<StagedArchive> {
    const path = await this.tempPath();
    const written = await writeHashed(source, path, {
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onBytes ? { onBytes: opts.onBytes } : {}),
    });
    if (opts.expected !== undefined && written.hash !== opts.expected) {
      await rm(path, { force: true });
      throw new ImageHashMismatchError(opts.expected, written.hash);
    }
    let settled = false;
    return {
      ...written,
      path,
      commit: async (meta) => {
        if (settled) throw new Error("staged archive already committed or discarded");
        settled = true;
        return this.commitFile(path, written.hash, meta);
      },
      discard: async () => {
        settled = true;
        await rm(path, { force: true });
      },
    };
  }

  /** A fresh path under tmp/ (same file system as the store) for an archive being received. */
  async tempPath(): Promise<string> {
    await this.#dirs();
    return join(this.root, "tmp", `${randomUUID()}.tar`);
  }

  /**
   * Move a file from tmp/ whose sha256 the caller verified to be `hash` into the store, with its
   * metadata, then evict past the cap. The file is removed when that fails.
   */
  async commitFile(path: string, hash: ImageHash, meta: ImageMeta): Promise<StoredImage> {
    try {
      await this.setMeta(hash, meta);
      await rename(path, this.archivePath(hash));
    } catch (err) {
      await rm(path, { force: true });
      throw err;
    }
    await this.evict(hash);
    const stored = await this.get(hash);
    if (!stored) throw new Error(`archive ${hash} vanished right after it was stored`);
    return stored;
  }

  /** Receive and commit in one step. */
  async add(
    source: Readable,
    meta: ImageMeta,
    opts: { expected?: ImageHash; signal?: AbortSignal; onBytes?: (total: number) => void } = {},
  ): Promise<StoredImage> {
    const staged = await this.receive(source, opts);
    try {
      return await staged.commit(meta);
    } catch (err) {
      await staged.discard();
      throw err;
    }
  }

  /** Remove least recently used archives (never `keep`) until the total is within `maxBytes`; returns them. */
  async evict(keep?: ImageHash): Promise<StoredImage[]> {
    if (!Number.isFinite(this.options.maxBytes)) return [];
    const all = await this.list();
    let total = all.reduce((n, i) => n + i.sizeBytes, 0);
    const removed: StoredImage[] = [];
    for (const img of [...all].reverse()) {
      if (total <= this.options.maxBytes) break;
      if (img.hash === keep) continue;
      await this.remove(img.hash);
      total -= img.sizeBytes;
      removed.push(img);
      await this.options.onEvict?.(img);
    }
    return removed;
  }

  /** The hash a recipe (by content key) built last, when its archive is still stored. */
  async recipeResult(key: string): Promise<ImageHash | undefined> {
    try {
      const parsed = recipeRefSchema.safeParse(
        JSON.parse(await readFile(join(this.root, "recipes", `${key}.json`), "utf8")),
      );
      if (!parsed.success || !isImageHash(parsed.data.hash)) return undefined;
      return (await this.has(parsed.data.hash)) ? parsed.data.hash : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async setRecipeResult(key: string, hash: ImageHash): Promise<void> {
    await this.#dirs();
    await atomicWrite(
      join(this.root, "tmp"),
      join(this.root, "recipes", `${key}.json`),
      JSON.stringify({ hash }),
    );
  }
}

async function atomicWrite(tmpDir: string, path: string, text: string): Promise<void> {
  const tmp = join(tmpDir, `${randomUUID()}.json`);
  await writeFile(tmp, text);
  await rename(tmp, path);
}
