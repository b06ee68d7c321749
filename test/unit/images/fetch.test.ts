import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  AbortError,
  ImageError,
  ImageHashMismatchError,
  TimeoutError,
  UserError,
} from "../../../src/errors.js";
import { ImageNotFoundError } from "../../../src/images/errors.js";
import { ImageFetcher } from "../../../src/images/fetch.js";
import { ImageStore } from "../../../src/images/store.js";
import type { FetchEvent } from "../../../src/images/types.js";
import { FakeEngine, FakeSource, filesIn, sha, tempDir } from "./fakes.js";

const archive = Buffer.concat([Buffer.from("IMAGE"), Buffer.alloc(200_000, 7)]);
const hash = sha(archive);

describe.each([true, false])("ImageFetcher (loadWhileReceiving: %s)", (loadWhileReceiving) => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let store: ImageStore;
  let engine: FakeEngine;
  let events: FetchEvent[];

  beforeEach(async () => {
    dir = await tempDir();
    store = new ImageStore({ root: dir.path });
    engine = new FakeEngine();
    events = [];
  });
  afterEach(() => dir.cleanup());

  function fetcher(sources: FakeSource[], idleTimeoutMs = 5_000): ImageFetcher {
    return new ImageFetcher({
      engine,
      store,
      sources,
      idleTimeoutMs,
      loadWhileReceiving,
      onEvent: (e) => events.push(e),
    });
  }

  async function nothingLeft(): Promise<void> {
    expect(engine.images.size).toBe(0);
    expect(await store.list()).toEqual([]);
    expect(await filesIn(join(dir.path, "tmp"))).toEqual([]);
  }

  it("downloads, verifies, loads and caches; a second fetch loads nothing", async () => {
    const source = new FakeSource("a", new Map([[hash, archive]]));
    const f = fetcher([source]);
    const first = await f.fetch(hash);
    expect(first).toMatchObject({ hash, imageId: sha(archive), sizeBytes: archive.length, cached: false });
    expect(engine.images.has(first.imageId)).toBe(true);
    expect((await store.get(hash))?.imageId).toBe(first.imageId);
    const second = await f.fetch(hash);
    expect(second).toMatchObject({ imageId: first.imageId, cached: true });
    expect(source.opened).toEqual([hash]);
    expect(engine.calls.filter((c) => c === "load")).toHaveLength(1);
    expect(events.map((e) => e.type)).toEqual([
      "fetch.started",
      "fetch.verified",
      "fetch.loaded",
      "fetch.loaded",
    ]);
  });

  it("reloads from the store when the engine lost the image, without downloading", async () => {
    const source = new FakeSource("a", new Map([[hash, archive]]));
    const f = fetcher([source]);
    const { imageId } = await f.fetch(hash);
    await engine.removeImage(imageId);
    expect(await f.fetch(hash)).toMatchObject({ imageId, cached: true });
    expect(engine.images.has(imageId)).toBe(true);
    expect(source.opened).toHaveLength(1);
  });

  it("loads a stored archive the engine lost only once for concurrent requests", async () => {
    const source = new FakeSource("a", new Map([[hash, archive]]));
    const f = fetcher([source]);
    const { imageId } = await f.fetch(hash);
    await engine.removeImage(imageId);
    const again = await Promise.all([f.fetch(hash), f.fetch(hash)]);
    expect(again.map((r) => r.cached)).toEqual([true, true]);
    expect(engine.calls.filter((c) => c === "load")).toHaveLength(2);
    expect(source.opened).toHaveLength(1);
  });

  it("shares one download between concurrent requests for one hash", async () => {
    const source = new FakeSource("a", new Map([[hash, archive]]), { openDelayMs: 30 });
    const f = fetcher([source]);
    const results = await Promise.all([f.fetch(hash), f.fetch(hash), f.fetch(hash)]);
    expect(new Set(results.map((r) => r.imageId)).size).toBe(1);
    expect(source.opened).toHaveLength(1);
    expect(engine.calls.filter((c) => c === "load")).toHaveLength(1);
  });

  it.each([
    ["truncated", archive.subarray(0, archive.length - 1000)],
    ["tampered", Buffer.concat([archive.subarray(0, 100), Buffer.from("X"), archive.subarray(101)])],
    ["a different image", Buffer.concat([Buffer.from("IMAGE"), Buffer.alloc(1000, 1)])],
  ])(
    "refuses a %s archive: ImageHashMismatchError, nothing loaded, nothing cached",
    async (_what, served) => {
      const err = await fetcher([new FakeSource("evil", new Map([[hash, served]]))])
        .fetch(hash)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageHashMismatchError);
      expect(err).toMatchObject({ expected: hash, actual: sha(served) });
      await nothingLeft();
    },
  );

  it("refuses an archive with the right hash that is not a Docker image: ImageError, nothing cached", async () => {
    const notImage = Buffer.from("just some bytes");
    const err = await fetcher([new FakeSource("a", new Map([[sha(notImage), notImage]]))])
      .fetch(sha(notImage))
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageError);
    expect((err as Error).message).toMatch(/verified but is not a loadable Docker image archive/);
    expect(await store.list()).toEqual([]);
    expect(await filesIn(join(dir.path, "tmp"))).toEqual([]);
  });

  it("names the hash and the sources tried when no source has it", async () => {
    const f = fetcher([new FakeSource("node-a", new Map()), new FakeSource("http://b", new Map())]);
    const err = await f.fetch(hash).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect((err as Error).message).toContain(hash);
    expect((err as Error).message).toContain("node-a: not found; http://b: not found");
    await expect(fetcher([]).fetch(hash)).rejects.toThrow(`image ${hash} is not available from any source`);
  });

  it("fails a stalled source with TimeoutError and leaves nothing behind", async () => {
    const stalled = new FakeSource("slow", new Map([[hash, archive]]), { stallAfter: 1000 });
    const err = await fetcher([stalled], 100)
      .fetch(hash)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/from slow stalled: no data for 100 ms/);
    await nothingLeft();
  });

  it("tries per-call sources first, and one fetcher shares a download across callers", async () => {
    const configured = new FakeSource("configured", new Map([[hash, archive]]));
    const perCall = new FakeSource("requestor", new Map([[hash, archive]]), { openDelayMs: 30 });
    const f = fetcher([configured]);
    const [a, b] = await Promise.all([f.fetch(hash, { sources: [perCall] }), f.fetch(hash)]);
    expect(a.imageId).toBe(b.imageId);
    expect(perCall.opened).toEqual([hash]);
    expect(configured.opened).toEqual([]);
  });

  it("falls through to the next source after a bad one", async () => {
    const bad = new FakeSource("bad", new Map([[hash, Buffer.from("IMAGE tampered")]]));
    const good = new FakeSource("good", new Map([[hash, archive]]));
    expect(await fetcher([bad, good]).fetch(hash)).toMatchObject({ cached: false });
    expect(events.filter((e) => e.type === "fetch.failed")).toMatchObject([{ source: "bad" }]);
  });

  it("maps a caller's abort to AbortError; others waiting on the download still get it", async () => {
    const source = new FakeSource("a", new Map([[hash, archive]]), { openDelayMs: 50 });
    const f = fetcher([source]);
    const ac = new AbortController();
    const mine = f.fetch(hash, { signal: ac.signal });
    const theirs = f.fetch(hash);
    ac.abort();
    await expect(mine).rejects.toBeInstanceOf(AbortError);
    await expect(theirs).resolves.toMatchObject({ hash });
  });

  it("aborts the download when its only caller aborts, leaving nothing behind", async () => {
    const stalled = new FakeSource("slow", new Map([[hash, archive]]), { stallAfter: 10 });
    const ac = new AbortController();
    const p = fetcher([stalled]).fetch(hash, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await expect(p).rejects.toBeInstanceOf(AbortError);
    await new Promise((r) => setTimeout(r, 50));
    await nothingLeft();
  });

  it("refuses a malformed hash as a UserError", async () => {
    await expect(fetcher([]).fetch("sha256:nothex")).rejects.toBeInstanceOf(UserError);
  });
});
