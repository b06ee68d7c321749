/**
 * Images over the Bus on a real nats-server with the real engine: the requestor's ImageServer
 * streams an archive by hash; the provider's BusImageSource fetches, verifies and loads it.
 */
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ImageHashMismatchError } from "../../../src/errors.js";
import {
  BusImageSource,
  ImageFetcher,
  ImageNotFoundError,
  ImageServer,
  ImageStore,
} from "../../../src/images/index.js";
import { NodeIdentity } from "../../../src/protocol/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { NatsBus, SignedNode, StreamSender } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";
import { privateImage, type PrivateImage } from "./private-image.js";

const runtime = new DockerRuntime();
let nats: NatsServer;
let requestorBus: NatsBus;
let providerBus: NatsBus;
let requestor: SignedNode;
let provider: SignedNode;
let sender: StreamSender;
let image: PrivateImage;
let work: string;

beforeAll(async () => {
  image = await privateImage(runtime, "busybox-bus-test");
  nats = await NatsServer.start();
  requestorBus = await NatsBus.connect({ servers: nats.url });
  providerBus = await NatsBus.connect({ servers: nats.url });
  requestor = new SignedNode({ bus: requestorBus, identity: NodeIdentity.generate() });
  provider = new SignedNode({ bus: providerBus, identity: NodeIdentity.generate() });
  sender = new StreamSender({ node: requestor });
  work = await mkdtemp(join(tmpdir(), "agora-bus-image-"));
}, 300_000);

afterAll(async () => {
  sender.close();
  await providerBus.close();
  await requestorBus.close();
  await nats.stop();
  await runtime.removeImage(image.imageId);
  await rm(work, { recursive: true, force: true });
});

let cacheDir: string;
beforeEach(async () => {
  await runtime.removeImage(image.imageId);
  cacheDir = await mkdtemp(join(work, "cache-"));
});

function fetcher(): ImageFetcher {
  return new ImageFetcher({
    engine: runtime,
    store: new ImageStore({ root: cacheDir }),
    sources: [new BusImageSource({ node: provider, from: requestor.nodeId, timeoutMs: 10_000 })],
  });
}

describe("images over NATS with the real engine", () => {
  it("fetches, verifies and loads the archive the requestor serves", async () => {
    const served = new ImageStore({ root: join(work, "served-good") });
    await served.add(Readable.from([image.archive]), {});
    const server = new ImageServer({ node: requestor, sender, store: served, hashes: [image.hash] });
    await requestorBus.flush(); // the server has the subscription before the provider asks
    try {
      const got = await fetcher().fetch(image.hash);
      expect(got).toMatchObject({ hash: image.hash, imageId: image.imageId, cached: false });
      expect(await runtime.inspectImage(image.imageId)).toMatchObject({ user: "agora" });
    } finally {
      server.close();
    }
  });

  it("names the hash when the requestor does not serve it", async () => {
    const server = new ImageServer({
      node: requestor,
      sender,
      store: new ImageStore({ root: join(work, "empty") }),
    });
    await requestorBus.flush();
    try {
      const err = await fetcher()
        .fetch(image.hash)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageNotFoundError);
      expect((err as Error).message).toContain(`image ${image.hash} is not available from any source`);
    } finally {
      server.close();
    }
  });

  it("refuses a tampered archive with ImageHashMismatchError: nothing loaded, nothing cached", async () => {
    const served = new ImageStore({ root: join(work, "served-bad") });
    await served.add(Readable.from([image.archive]), {});
    const spoiled = Buffer.from(image.archive);
    const middle = spoiled.length >> 1;
    spoiled[middle] = spoiled[middle]! ^ 1;
    await writeFile(served.archivePath(image.hash), spoiled);
    const server = new ImageServer({ node: requestor, sender, store: served });
    await requestorBus.flush();
    try {
      const err = await fetcher()
        .fetch(image.hash)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ImageHashMismatchError);
      expect(await runtime.inspectImage(image.imageId)).toBeUndefined();
      expect(await readdir(join(cacheDir, "sha256")).catch(() => [])).toEqual([]);
      expect(await readdir(join(cacheDir, "tmp")).catch(() => [])).toEqual([]);
    } finally {
      server.close();
    }
  });
});
