import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import tar from "tar-stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AbortError, ImageError } from "../../../src/errors.js";
import { ImageBuilder, importChanges } from "../../../src/images/build.js";
import { parseRecipe } from "../../../src/images/recipe.js";
import { ImageStore } from "../../../src/images/store.js";
import type { BuildEvent } from "../../../src/images/types.js";
import { FakeEngine, filesIn, readAll, tempDir } from "./fakes.js";

const recipe = {
  name: "tiny",
  debian: { suite: "bookworm", variant: "extract", packages: ["busybox-static"] },
  files: [{ src: "hello.txt", dest: "/golem/resource/hello.txt", mode: "0640", owner: "user" }],
  symlinks: [{ target: "busybox", paths: ["/bin/sh"] }],
  volumes: ["/golem/work", "/golem/output"],
  user: { name: "agora", uid: 1000, gid: 1000 },
  env: { PATH: "/bin", GREETING: "hello world" },
  cmd: ["/bin/sh"],
};

describe("importChanges", () => {
  it("turns the recipe into docker import changes", () => {
    expect(importChanges(parseRecipe(JSON.stringify(recipe)))).toEqual([
      'VOLUME ["/golem/work"]',
      'VOLUME ["/golem/output"]',
      'ENV PATH="/bin"',
      'ENV GREETING="hello world"',
      "USER agora",
      "WORKDIR /golem/work",
      'CMD ["/bin/sh"]',
    ]);
  });
});

describe("ImageBuilder", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let engine: FakeEngine;
  let store: ImageStore;
  let recipeDir: string;

  async function fakeMmdebstrap(script: string): Promise<string> {
    const path = join(dir.path, "fake-mmdebstrap");
    await writeFile(path, `#!/bin/sh\n${script}\n`);
    await chmod(path, 0o755);
    return path;
  }

  beforeEach(async () => {
    dir = await tempDir();
    engine = new FakeEngine();
    store = new ImageStore({ root: join(dir.path, "store") });
    recipeDir = join(dir.path, "recipe");
    await mkdir(join(recipeDir, "files"), { recursive: true });
    await writeFile(join(recipeDir, "recipe.json"), JSON.stringify(recipe));
    await writeFile(join(recipeDir, "files", "hello.txt"), "hi\n");
    const pack = tar.pack();
    pack.entry({ name: "./", type: "directory" });
    pack.entry({ name: "./bin/", type: "directory" });
    pack.entry({ name: "./bin/busybox", mode: 0o755 }, "ELF");
    pack.finalize();
    await writeFile(join(dir.path, "base.tar"), await readAll(pack));
  });
  afterEach(() => dir.cleanup());

  it("imports the merged rootfs, stores the saved archive, then reuses it for an unchanged recipe", async () => {
    const mm = await fakeMmdebstrap(`echo "I: fake" >&2; cat ${join(dir.path, "base.tar")}`);
    const events: BuildEvent[] = [];
    const builder = new ImageBuilder(engine, store);
    const built = await builder.build(recipeDir, { mmdebstrap: mm, onProgress: (e) => events.push(e) });
    expect(built).toMatchObject({ name: "tiny", cached: false });
    expect(engine.calls[0]).toMatch(/^import agora-build\/tiny:[0-9a-f]{12}$/);
    expect(engine.calls[1]).toBe(`save ${built.imageId}`);
    expect((await store.get(built.hash))?.imageId).toBe(built.imageId);
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["build.started", "build.step", "build.log", "build.done"]),
    );
    expect(events).toContainEqual({ type: "build.log", line: "I: fake" });

    const names: string[] = [];
    const extract = tar.extract();
    const done = (async () => {
      for await (const entry of extract) {
        names.push(`${entry.header.name} ${entry.header.uid} ${entry.header.mode.toString(8)}`);
        entry.resume();
      }
    })();
    extract.end(engine.imported);
    await done;
    expect(names).toEqual(
      expect.arrayContaining([
        "./bin/busybox 0 755",
        "./golem/resource/hello.txt 1000 640",
        "./golem/work 1000 755",
        "./bin/sh 0 777",
        "./etc/passwd 0 644",
      ]),
    );

    const again = await builder.build(recipeDir, { mmdebstrap: await fakeMmdebstrap("exit 99") });
    expect(again).toMatchObject({ hash: built.hash, imageId: built.imageId, cached: true });
  });

  it("shares one build between concurrent calls for one recipe", async () => {
    const mm = await fakeMmdebstrap(`sleep 0.2; cat ${join(dir.path, "base.tar")}`);
    const builder = new ImageBuilder(engine, store);
    const [a, b] = await Promise.all([
      builder.build(recipeDir, { mmdebstrap: mm }),
      builder.build(recipeDir),
    ]);
    expect(a.hash).toBe(b.hash);
    expect(engine.calls.filter((c) => c.startsWith("import"))).toHaveLength(1);
  });

  it("fails with mmdebstrap's error and stores nothing when the bootstrap fails", async () => {
    const mm = await fakeMmdebstrap(
      `head -c 1024 ${join(dir.path, "base.tar")}; echo "E: Unable to locate package nope" >&2; exit 1`,
    );
    const err = await new ImageBuilder(engine, store)
      .build(recipeDir, { mmdebstrap: mm })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toMatch(
      /mmdebstrap failed \(exit code 1\)[\s\S]*Unable to locate package nope/,
    );
    expect(await store.list()).toEqual([]);
    expect(await filesIn(join(dir.path, "store", "tmp"))).toEqual([]);
  });

  it("maps an abort to AbortError", async () => {
    const mm = await fakeMmdebstrap("exec sleep 30");
    const ac = new AbortController();
    const p = new ImageBuilder(engine, store).build(recipeDir, { mmdebstrap: mm, signal: ac.signal });
    setTimeout(() => ac.abort(), 100);
    await expect(p).rejects.toBeInstanceOf(AbortError);
  });
});
