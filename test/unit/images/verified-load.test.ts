import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageError, ImageHashMismatchError } from "../../../src/errors.js";
import { receiveAndLoad, receiveThenLoad } from "../../../src/images/verified-load.js";
import { FakeEngine, filesIn, sha, tempDir } from "./fakes.js";

const archive = Buffer.concat([Buffer.from("IMAGE"), Buffer.alloc(3_000_000, 9)]);
const chunks = (b: Buffer): Readable => Readable.from([b.subarray(0, 1_000_000), b.subarray(1_000_000)]);

/** An engine that refuses at once, without reading (like `docker load` on bytes that are no tar). */
class RefusingEngine extends FakeEngine {
  override async loadImage(): Promise<string[]> {
    throw new ImageError("the archive loaded no image: it is not a Docker image archive");
  }
}

/** An engine that reads slowly, so the receiver feels its backpressure. */
class SlowEngine extends FakeEngine {
  override async loadImage(archive: Readable): Promise<string[]> {
    const parts: Buffer[] = [];
    await sleep(200); // the receiver fills the engine's buffer meanwhile
    for await (const c of archive) parts.push(c as Buffer);
    return [this.add(Buffer.concat(parts))];
  }
}

describe("receiveAndLoad", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.cleanup());

  const opts = (engine: FakeEngine, expected = sha(archive)) => ({
    path: join(dir.path, "a.tar"),
    expected,
    engine,
    signal: new AbortController().signal,
    what: "image x from test",
  });

  it("writes the file and ends the engine's input only after the hash matched", async () => {
    const engine = new FakeEngine();
    let verifiedAt = -1;
    const got = await receiveAndLoad(chunks(archive), {
      ...opts(engine),
      onVerified: (n) => (verifiedAt = n),
    });
    expect(got).toEqual({ sizeBytes: archive.length, imageId: sha(archive) });
    expect(verifiedAt).toBe(archive.length);
    expect(engine.images.has(sha(archive))).toBe(true);
    expect((await readFile(join(dir.path, "a.tar"))).equals(archive)).toBe(true);
  });

  it("cuts the engine's input on a mismatch: nothing loaded, no file", async () => {
    const engine = new FakeEngine();
    const other = Buffer.concat([archive.subarray(0, 10), Buffer.from("Z"), archive.subarray(11)]);
    const err = await receiveAndLoad(chunks(other), opts(engine)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageHashMismatchError);
    expect(err).toMatchObject({ expected: sha(archive), actual: sha(other) });
    expect(engine.images.size).toBe(0);
    expect(await filesIn(dir.path)).toEqual([]);
  });

  it("when the engine refuses early, still receives everything so the hash decides the error", async () => {
    const right = await receiveAndLoad(chunks(archive), opts(new RefusingEngine())).catch((e: unknown) => e);
    expect(right).toBeInstanceOf(ImageError);
    expect((right as Error).message).toMatch(
      /image x from test verified but is not a loadable Docker image archive/,
    );
    const wrong = await receiveAndLoad(chunks(Buffer.from("junk")), opts(new RefusingEngine())).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(ImageHashMismatchError);
    expect(await filesIn(dir.path)).toEqual([]);
  });

  it("reports the engine's backpressure, and still loads everything", async () => {
    const engine = new SlowEngine();
    const busy: boolean[] = [];
    const big = Buffer.concat([Buffer.from("IMAGE"), Buffer.alloc(12_000_000, 1)]);
    const source = Readable.from(
      Array.from({ length: 12 }, (_, i) => big.subarray(i * 1_000_000, (i + 1) * 1_000_000)).concat(
        big.subarray(12_000_000),
      ),
    );
    const got = await receiveAndLoad(source, {
      ...opts(engine, sha(big)),
      onEngineBusy: (b) => busy.push(b),
    });
    expect(got.imageId).toBe(sha(big));
    expect(busy).toContain(true);
    expect(busy.at(-1)).toBe(false);
    expect((await readFile(join(dir.path, "a.tar"))).equals(big)).toBe(true);
  });
});

describe("receiveThenLoad", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeEach(async () => (dir = await tempDir()));
  afterEach(() => dir.cleanup());

  it("loads the file only after the hash matched; on a mismatch the engine is never called", async () => {
    const engine = new FakeEngine();
    const base = { path: join(dir.path, "a.tar"), engine, signal: new AbortController().signal, what: "x" };
    const err = await receiveThenLoad(chunks(archive), {
      ...base,
      expected: sha(Buffer.from("other")),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageHashMismatchError);
    expect(engine.calls).toEqual([]);
    expect(await filesIn(dir.path)).toEqual([]);
    expect(await receiveThenLoad(chunks(archive), { ...base, expected: sha(archive) })).toEqual({
      sizeBytes: archive.length,
      imageId: sha(archive),
    });
    expect(engine.calls).toEqual(["load"]);
  });

  it("names an archive with the right hash that the engine refuses", async () => {
    const base = {
      path: join(dir.path, "a.tar"),
      engine: new RefusingEngine(),
      signal: new AbortController().signal,
    };
    await expect(
      receiveThenLoad(chunks(archive), { ...base, expected: sha(archive), what: "image y" }),
    ).rejects.toThrow(/image y verified but is not a loadable Docker image archive/);
    expect(await filesIn(dir.path)).toEqual([]);
  });
});
