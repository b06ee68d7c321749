/**
 * Provider-side fetch against the real engine and an HTTP server on 127.0.0.1: a good archive is
 * verified and loaded; truncated, tampered, different, stalled, junk and missing archives end in
 * their errors with nothing loaded, nothing cached and no temp files left.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ImageError, ImageHashMismatchError, TimeoutError } from "../../../src/errors.js";
import {
  HttpImageSource,
  ImageBuilder,
  ImageFetcher,
  ImageNotFoundError,
  ImageStore,
  type ImageHash,
} from "../../../src/images/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { BUSYBOX_RECIPE_DIR, busyboxImage, testImageStoreRoot } from "../helpers/busybox-image.js";
import { privateImage } from "./private-image.js";

const runtime = new DockerRuntime();
const sha = (b: Buffer): ImageHash => `sha256:${createHash("sha256").update(b).digest("hex")}`;

let work: string;
let server: Server;
let base: string;
let requests = 0;
let archive: Buffer;
let hash: ImageHash;
let imageId: string;
let otherArchive: Buffer;
const junk = randomBytes(300_000);

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "agora-fetch-"));
  // A private image (its own recipe name), so removing it from the engine touches no other test.
  ({ hash, imageId, archive } = await privateImage(runtime, "busybox-fetch-test"));
  const origin = new ImageStore({ root: testImageStoreRoot() });
  const busybox = await new ImageBuilder(runtime, origin).build(BUSYBOX_RECIPE_DIR);
  expect(busybox.imageId).toBe(await busyboxImage());
  otherArchive = await readFile(origin.archivePath(busybox.hash));

  server = createServer((req, res) => {
    requests++;
    const [, mode] = /^\/([a-z]+)\//.exec(req.url ?? "") ?? [];
    const body: Record<string, Buffer> = {
      good: archive,
      truncated: archive.subarray(0, archive.length - 4096),
      tampered: Buffer.concat([
        archive.subarray(0, 1000),
        Buffer.from([archive[1000]! ^ 1]),
        archive.subarray(1001),
      ]),
      other: otherArchive,
      junk,
    };
    if (mode === "stall") {
      res.writeHead(200, { "content-length": archive.length });
      res.write(archive.subarray(0, 64 * 1024));
      return; // never ends
    }
    const data = mode === undefined ? undefined : body[mode];
    if (!data) return res.writeHead(404).end();
    if (mode === "good") setTimeout(() => res.end(data), 100);
    else res.end(data);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 300_000);

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  await runtime.removeImage(imageId);
  await rm(work, { recursive: true, force: true });
});

let storeDir: string;
beforeEach(async () => {
  await runtime.removeImage(imageId);
  storeDir = await mkdtemp(join(work, "store-"));
  requests = 0;
});
afterEach(() => rm(storeDir, { recursive: true, force: true }));

function fetcher(mode: string, idleTimeoutMs = 10_000, loadWhileReceiving = true): ImageFetcher {
  return new ImageFetcher({
    engine: runtime,
    store: new ImageStore({ root: storeDir }),
    sources: [new HttpImageSource({ url: `${base}/${mode}/{hex}.tar` })],
    idleTimeoutMs,
    loadWhileReceiving,
  });
}

async function nothingLeft(): Promise<void> {
  expect(await runtime.inspectImage(imageId)).toBeUndefined();
  expect(await readdir(join(storeDir, "sha256")).catch(() => [])).toEqual([]);
  expect(await readdir(join(storeDir, "tmp")).catch(() => [])).toEqual([]);
}

describe.each([true, false])(
  "ImageFetcher over HTTP with the real engine (loadWhileReceiving: %s)",
  (loadWhileReceiving) => {
    it("verifies and loads a good archive; concurrent requests share one download; then it is cached", async () => {
      const f = fetcher("good", 10_000, loadWhileReceiving);
      const results = await Promise.all([f.fetch(hash), f.fetch(hash), f.fetch(hash)]);
      expect(results.map((r) => r.imageId)).toEqual([imageId, imageId, imageId]);
      expect(requests).toBe(1);
      const info = await runtime.inspectImage(imageId);
      expect(info).toMatchObject({
        user: "agora",
        volumes: ["/golem/output", "/golem/resource", "/golem/work"],
      });
      expect(await f.fetch(hash)).toMatchObject({ imageId, cached: true });
      expect(requests).toBe(1);
      expect((await readFile(new ImageStore({ root: storeDir }).archivePath(hash))).equals(archive)).toBe(
        true,
      );
    });

    it.each(["truncated", "tampered", "other"])(
      "refuses a %s archive with ImageHashMismatchError: nothing loaded, nothing cached",
      async (mode) => {
        const err = await fetcher(mode, 10_000, loadWhileReceiving)
          .fetch(hash)
          .catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ImageHashMismatchError);
        expect((err as ImageHashMismatchError).expected).toBe(hash);
        expect((err as Error).message).toContain(`expected ${hash}`);
        await nothingLeft();
      },
    );

    it("fails a stalled source with TimeoutError: nothing loaded, nothing cached", async () => {
      const err = await fetcher("stall", 500, loadWhileReceiving)
        .fetch(hash)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TimeoutError);
      expect((err as Error).message).toMatch(/stalled: no data for 500 ms/);
      await nothingLeft();
    });

    it("refuses an archive that matches its hash but is not a Docker image, with ImageError", async () => {
      const err = await fetcher("junk", 10_000, loadWhileReceiving)
        .fetch(sha(junk))
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageError);
      expect(err).not.toBeInstanceOf(ImageHashMismatchError);
      expect((err as Error).message).toMatch(/not a loadable Docker image archive/);
      await nothingLeft();
    });

    it("names the hash when no source has it", async () => {
      const err = await fetcher("missing", 10_000, loadWhileReceiving)
        .fetch(hash)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageNotFoundError);
      expect((err as Error).message).toContain(`image ${hash} is not available from any source`);
      await nothingLeft();
    });
  },
);
