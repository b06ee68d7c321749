import { truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageHashMismatchError } from "../../../src/errors.js";
import { BusImageSource, ImageServer, imageSubject } from "../../../src/images/bus-image.js";
import { ImageNotFoundError } from "../../../src/images/errors.js";
import { ImageFetcher } from "../../../src/images/fetch.js";
import { ImageStore } from "../../../src/images/store.js";
import { NodeIdentity } from "../../../src/protocol/index.js";
import { MemoryBus, SignedNode, StreamSender } from "../../../src/transport/index.js";
import { FakeEngine, filesIn, readAll, sha, tempDir } from "./fakes.js";

// Over 2 chunks of 512 KiB, so the stream has several pulls.
const archive = Buffer.concat([Buffer.from("IMAGE"), Buffer.alloc(1_300_000, 3)]);
const hash = sha(archive);

describe("images over the Bus", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let bus: MemoryBus;
  let requestor: SignedNode;
  let provider: SignedNode;
  let sender: StreamSender;
  let served: ImageStore;
  let server: ImageServer;
  let engine: FakeEngine;
  let cache: ImageStore;

  beforeEach(async () => {
    dir = await tempDir();
    bus = new MemoryBus({ maxPayload: 2 * 1024 * 1024 });
    requestor = new SignedNode({ bus, identity: NodeIdentity.generate() });
    provider = new SignedNode({ bus, identity: NodeIdentity.generate() });
    sender = new StreamSender({ node: requestor, idleTimeoutMs: 2_000 });
    served = new ImageStore({ root: join(dir.path, "served") });
    await served.add(Readable.from([archive]), { name: "demo" });
    engine = new FakeEngine();
    cache = new ImageStore({ root: join(dir.path, "cache") });
  });
  afterEach(async () => {
    server.close();
    sender.close();
    await bus.close();
    await dir.cleanup();
  });

  function fetcher(): ImageFetcher {
    const source = new BusImageSource({ node: provider, from: requestor.nodeId, timeoutMs: 2_000 });
    return new ImageFetcher({ engine, store: cache, sources: [source] });
  }

  async function nothingLeft(): Promise<void> {
    expect(engine.images.size).toBe(0);
    expect(await cache.list()).toEqual([]);
    expect(await filesIn(join(dir.path, "cache", "tmp"))).toEqual([]);
  }

  it("serves on agora.node.<id>.image, and a provider fetches, verifies and loads the archive", async () => {
    server = new ImageServer({ node: requestor, sender, store: served, hashes: [hash] });
    expect(server.subject).toBe(imageSubject(requestor.nodeId));
    const got = await fetcher().fetch(hash);
    expect(got).toMatchObject({ hash, imageId: sha(archive), sizeBytes: archive.length, cached: false });
    expect((await readAll((await cache.open(hash))!)).equals(archive)).toBe(true);
    expect(sender.active).toBe(0);
  });

  it("shares one stream between concurrent fetches", async () => {
    server = new ImageServer({ node: requestor, sender, store: served });
    const f = fetcher();
    const [a, b] = await Promise.all([f.fetch(hash), f.fetch(hash)]);
    expect(a.imageId).toBe(b.imageId);
    expect(engine.calls.filter((c) => c === "load")).toHaveLength(1);
  });

  it("does not serve hashes outside its list: the fetch names the hash", async () => {
    server = new ImageServer({ node: requestor, sender, store: served, hashes: [] });
    const err = await fetcher()
      .fetch(hash)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect((err as Error).message).toContain(`image ${hash} is not available from any source`);
    await nothingLeft();
  });

  it("treats a node that serves no images as not having it", async () => {
    server = new ImageServer({ node: requestor, sender, store: served });
    server.close();
    const err = await fetcher()
      .fetch(hash)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImageNotFoundError);
    expect((err as Error).message).toMatch(/node \S+…: not found/);
  });

  it.each([
    [
      "tampered",
      (path: string) =>
        writeFile(
          path,
          Buffer.concat([archive.subarray(0, 600_000), Buffer.from("X"), archive.subarray(600_001)]),
        ),
    ],
    ["truncated", (path: string) => truncate(path, 700_000)],
  ])(
    "turns a %s archive at the server into ImageHashMismatchError with nothing loaded",
    async (_what, spoil) => {
      await spoil(served.archivePath(hash));
      server = new ImageServer({ node: requestor, sender, store: served });
      const err = await fetcher()
        .fetch(hash)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageHashMismatchError);
      expect((err as ImageHashMismatchError).expected).toBe(hash);
      await nothingLeft();
    },
  );
});
