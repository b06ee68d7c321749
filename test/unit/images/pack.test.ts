import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UserError } from "../../../src/errors.js";
import { packImage } from "../../../src/images/pack.js";
import { ImageStore } from "../../../src/images/store.js";
import { FakeEngine, readAll, sha, tempDir } from "./fakes.js";

describe("packImage", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let engine: FakeEngine;
  let store: ImageStore;
  beforeEach(async () => {
    dir = await tempDir();
    engine = new FakeEngine();
    store = new ImageStore({ root: dir.path });
  });
  afterEach(() => dir.cleanup());

  it("stores the saved archive under its sha256 and names it by the reference", async () => {
    const archive = Buffer.from("IMAGE packed");
    const id = engine.add(archive, { user: "agora", volumes: ["/golem/work"] });
    const packed = await packImage(engine, store, id);
    expect(packed).toMatchObject({
      hash: sha(archive),
      imageId: id,
      sizeBytes: archive.length,
      warnings: [],
    });
    expect(await readAll((await store.open(packed.hash))!)).toEqual(archive);
    expect((await store.get(packed.hash))?.name).toBe(id);
  });

  it("warns about a root user and missing golem volumes", async () => {
    const id = engine.add(Buffer.from("IMAGE root"), { user: "" });
    const { warnings } = await packImage(engine, store, id);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/runs as root/);
    expect(warnings[1]).toMatch(/no \/golem\/\* volumes/);
  });

  it("refuses a reference the engine does not have, naming it", async () => {
    await expect(packImage(engine, store, "nope:1")).rejects.toThrow(
      new UserError('there is no local Docker image "nope:1" to pack'),
    );
    expect(await store.list()).toEqual([]);
  });
});
