/** Hand-written fakes of our own interfaces (ImageEngine, ImageSource) for the images unit tests. */
import { createHash } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { ImageError } from "../../../src/errors.js";
import type { ImageConfig, ImageEngine } from "../../../src/provider/runtime/index.js";
import type { ImageHash, ImageSource } from "../../../src/images/index.js";

export function sha(data: Uint8Array): ImageHash {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

export async function readAll(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** A fake engine: an "archive" is any bytes starting with "IMAGE"; its image id is the sha256 of the bytes. */
export class FakeEngine implements ImageEngine {
  readonly images = new Map<string, { archive: Buffer; config: ImageConfig }>();
  readonly calls: string[] = [];
  imported: Buffer | undefined;

  add(archive: Buffer, config: Partial<ImageConfig> = {}): string {
    const id = sha(archive);
    this.images.set(id, {
      archive,
      config: { id, volumes: [], user: "", workdir: "", env: [], sizeBytes: archive.length, ...config },
    });
    return id;
  }

  async importRootfs(rootfs: Readable, opts: { changes: readonly string[]; tag: string }): Promise<string> {
    this.calls.push(`import ${opts.tag}`);
    this.imported = await readAll(rootfs);
    const volumes = opts.changes
      .filter((c) => c.startsWith("VOLUME "))
      .map((c) => JSON.parse(c.slice(7)) as string[]);
    return this.add(Buffer.concat([Buffer.from("IMAGE"), this.imported]), { volumes: volumes.flat() });
  }

  async saveImage(ref: string): Promise<Readable> {
    this.calls.push(`save ${ref}`);
    const img = this.images.get(ref);
    if (!img) throw new ImageError(`cannot save image ${ref}: no such image`);
    return Readable.from([img.archive]);
  }

  async loadImage(archive: Readable): Promise<string[]> {
    this.calls.push("load");
    const bytes = await readAll(archive);
    if (!bytes.subarray(0, 5).equals(Buffer.from("IMAGE")))
      throw new ImageError("the archive loaded no image: it is not a Docker image archive");
    return [this.add(bytes)];
  }

  async inspectImage(ref: string): Promise<ImageConfig | undefined> {
    return this.images.get(ref)?.config;
  }

  async removeImage(ref: string): Promise<void> {
    this.images.delete(ref);
  }
}

/** A source serving fixed bytes per hash; `stallAfter` stops sending (without ending) after that many bytes. */
export class FakeSource implements ImageSource {
  readonly opened: ImageHash[] = [];

  constructor(
    readonly name: string,
    readonly archives: Map<ImageHash, Buffer>,
    readonly behaviour: { stallAfter?: number; openDelayMs?: number } = {},
  ) {}

  async open(hash: ImageHash, opts: { signal: AbortSignal }): Promise<Readable | undefined> {
    this.opened.push(hash);
    if (this.behaviour.openDelayMs)
      await sleep(this.behaviour.openDelayMs, undefined, { signal: opts.signal });
    const data = this.archives.get(hash);
    if (!data) return undefined;
    const stallAfter = this.behaviour.stallAfter;
    if (stallAfter === undefined)
      return Readable.from([data.subarray(0, data.length >> 1), data.subarray(data.length >> 1)]);
    const stream = new Readable({ read() {} });
    stream.push(data.subarray(0, stallAfter));
    return stream;
  }
}

/** A fresh temp folder and its cleanup. */
export async function tempDir(prefix = "agora-images-"): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

export async function filesIn(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}
