import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageError } from "../../../src/errors.js";
import { ensureLoaded, loadArchive, storeFromEngine } from "../../../src/images/engine-io.js";
import { ImageStore } from "../../../src/images/store.js";
import type { ImageConfig } from "../../../src/provider/runtime/index.js";
import { FakeEngine, sha, tempDir } from "./fakes.js";

/** An engine whose load reports a tag (as `docker load` does for archives saved by tag). */
class TaggingEngine extends FakeEngine {
  override async loadImage(archive: Readable): Promise<string[]> {
    const [id] = await super.loadImage(archive);
    this.tags.set("demo:1", id!);
    return ["demo:1"];
  }
  readonly tags = new Map<string, string>();
  override async inspectImage(ref: string): Promise<ImageConfig | undefined> {
    return super.inspectImage(this.tags.get(ref) ?? ref);
  }
}

describe("engine-io", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: ImageStore;
  beforeEach(async () => {
    dir = await tempDir();
    store = new ImageStore({ root: dir.path });
  });
  afterEach(() => dir.cleanup());

  it("loadArchive returns the image id, resolving a reported tag through inspect", async () => {
    const archive = Buffer.from("IMAGE tagged");
    expect(await loadArchive(new FakeEngine(), Readable.from([archive]))).toBe(sha(archive));
    expect(await loadArchive(new TaggingEngine(), Readable.from([archive]))).toBe(sha(archive));
  });

  it("ensureLoaded reloads a stored archive the engine lost, and records its id", async () => {
    const engine = new FakeEngine();
    const id = engine.add(Buffer.from("IMAGE stored"));
    const stored = await storeFromEngine(engine, store, id, { name: "x" });
    await engine.removeImage(id);
    let loads = 0;
    expect(await ensureLoaded(engine, store, stored.hash, { onLoad: () => loads++ })).toEqual({
      imageId: id,
      sizeBytes: stored.sizeBytes,
    });
    expect(loads).toBe(1);
    await ensureLoaded(engine, store, stored.hash, { onLoad: () => loads++ });
    expect(loads).toBe(1);
    expect(await store.get(stored.hash)).toMatchObject({ imageId: id, name: "x" });
  });

  it("ensureLoaded names the hash and the store when the archive is not there", async () => {
    const hash = sha(Buffer.from("absent"));
    await expect(ensureLoaded(new FakeEngine(), store, hash)).rejects.toThrow(
      new ImageError(`image ${hash} is not in the store at ${dir.path}`),
    );
  });
});
