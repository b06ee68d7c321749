import { readFile, utimes } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageHashMismatchError } from "../../../src/errors.js";
import { defaultImageStoreRoot, ImageStore } from "../../../src/images/store.js";
import { filesIn, readAll, sha, tempDir } from "./fakes.js";

const bytes = (s: string, n = 1): Buffer => Buffer.from(s.repeat(n));

describe("ImageStore", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: ImageStore;
  beforeEach(async () => {
    dir = await tempDir();
    store = new ImageStore({ root: dir.path });
  });
  afterEach(() => dir.cleanup());

  it("defaults to $AGORA_HOME/images, else ~/.agora/images", () => {
    expect(defaultImageStoreRoot({ AGORA_HOME: "/srv/agora" })).toBe("/srv/agora/images");
    expect(defaultImageStoreRoot({})).toMatch(/\/\.agora\/images$/);
  });

  it("stores an archive under the sha256 of its bytes, with its metadata", async () => {
    const data = bytes("IMAGE-a", 1000);
    const stored = await store.add(Readable.from([data]), { imageId: "sha256:id", name: "a" });
    expect(stored).toMatchObject({
      hash: sha(data),
      sizeBytes: data.length,
      imageId: "sha256:id",
      name: "a",
    });
    expect(await readFile(store.archivePath(sha(data)))).toEqual(data);
    expect(await readAll((await store.open(sha(data)))!)).toEqual(data);
    expect(await filesIn(join(dir.path, "tmp"))).toEqual([]);
  });

  it("refuses an archive whose hash differs from the expected one, leaving nothing behind", async () => {
    const expected = sha(bytes("the real one"));
    const err = await store
      .receive(Readable.from([bytes("tampered")]), { expected })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageHashMismatchError);
    expect(err).toMatchObject({ expected, actual: sha(bytes("tampered")) });
    expect(await filesIn(join(dir.path, "tmp"))).toEqual([]);
    expect(await filesIn(join(dir.path, "sha256"))).toEqual([]);
    expect(await store.has(expected)).toBe(false);
  });

  it("keeps a staged archive out of the store until committed, and discard removes it", async () => {
    const staged = await store.receive(Readable.from([bytes("x")]));
    expect(await store.has(staged.hash)).toBe(false);
    await staged.discard();
    expect(await filesIn(join(dir.path, "tmp"))).toEqual([]);
  });

  it("lists most recently used first, sums sizes, and removes by hash", async () => {
    const a = await store.add(Readable.from([bytes("a", 10)]), {});
    const b = await store.add(Readable.from([bytes("b", 20)]), {});
    await utimes(store.archivePath(a.hash), new Date(1000), new Date(1000));
    expect((await store.list()).map((i) => i.hash)).toEqual([b.hash, a.hash]);
    await store.touch(a.hash);
    expect((await store.list()).map((i) => i.hash)).toEqual([a.hash, b.hash]);
    expect(await store.totalBytes()).toBe(30);
    expect(await store.remove(a.hash)).toBe(true);
    expect(await store.remove(a.hash)).toBe(false);
    expect((await store.list()).map((i) => i.hash)).toEqual([b.hash]);
  });

  it("evicts least recently used archives past its cap, never the one just stored", async () => {
    const capped = new ImageStore({ root: dir.path, maxBytes: 250 });
    const a = await capped.add(Readable.from([bytes("a", 100)]), {});
    await utimes(capped.archivePath(a.hash), new Date(1000), new Date(1000));
    const b = await capped.add(Readable.from([bytes("b", 100)]), {});
    await utimes(capped.archivePath(b.hash), new Date(2000), new Date(2000));
    const c = await capped.add(Readable.from([bytes("c", 100)]), {});
    expect((await capped.list()).map((i) => i.hash).sort()).toEqual([b.hash, c.hash].sort());
    const big = await capped.add(Readable.from([bytes("d", 300)]), {});
    expect((await capped.list()).map((i) => i.hash)).toEqual([big.hash]);
  });

  it("reports each evicted archive (with its image id) to onEvict", async () => {
    const evicted: string[] = [];
    const capped = new ImageStore({
      root: dir.path,
      maxBytes: 150,
      onEvict: (img) => void evicted.push(img.imageId ?? ""),
    });
    const a = await capped.add(Readable.from([bytes("a", 100)]), { imageId: "sha256:image-a" });
    await utimes(capped.archivePath(a.hash), new Date(1000), new Date(1000));
    await capped.add(Readable.from([bytes("b", 100)]), { imageId: "sha256:image-b" });
    expect(evicted).toEqual(["sha256:image-a"]);
  });

  it("remembers which hash a recipe built, while that archive exists", async () => {
    const a = await store.add(Readable.from([bytes("a")]), {});
    expect(await store.recipeResult("recipe-1")).toBeUndefined();
    await store.setRecipeResult("recipe-1", a.hash);
    expect(await store.recipeResult("recipe-1")).toBe(a.hash);
    await store.remove(a.hash);
    expect(await store.recipeResult("recipe-1")).toBeUndefined();
  });
});
