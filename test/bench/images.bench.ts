/**
 * Images benchmark (issue 4, item 6): the povray recipe's build time (warm: cached by recipe hash;
 * cold with AGORA_BENCH_COLD=1, a fresh mmdebstrap from Debian's mirror), and fetch + verify + load
 * of the povray archive against a raw `docker load -i` of the same file, in the same run.
 * Target: fetch + verify + load ≥ 0.9× the raw throughput.
 *
 * `npx tsx test/bench/images.bench.ts` runs it alone; `npm run bench` runs it with the others.
 */
import { execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  BusImageSource,
  HttpImageSource,
  ImageBuilder,
  ImageFetcher,
  ImageServer,
  ImageStore,
  type ImageHash,
  type ImageSource,
} from "../../src/images/index.js";
import { NodeIdentity } from "../../src/protocol/index.js";
import { DockerRuntime } from "../../src/provider/runtime/index.js";
import { MemoryBus, SignedNode, StreamSender } from "../../src/transport/index.js";
import { testImageStoreRoot } from "../integration/helpers/busybox-image.js";
import { isMain, mibPerSec, percentile, printTable, timeMs, type Row } from "./report.js";

const RUNS = 8;
const POVRAY = fileURLToPath(new URL("../../images/povray", import.meta.url));
const run$ = promisify(execFile);

async function buildTimes(
  runtime: DockerRuntime,
  store: ImageStore,
): Promise<{ hash: ImageHash; imageId: string }> {
  const builder = new ImageBuilder(runtime, store);
  if (process.env.AGORA_BENCH_COLD === "1") {
    let cold = { hash: "" as ImageHash, imageId: "" };
    const ms = await timeMs(async () => (cold = await builder.build(POVRAY, { force: true })));
    console.log(
      `povray build, cold (mmdebstrap from the mirror, import, save, hash): ${(ms / 1000).toFixed(1)} s`,
    );
    void cold;
  }
  let built = { hash: "" as ImageHash, imageId: "" };
  await builder.build(POVRAY); // make sure it is there
  const warm: number[] = [];
  for (let i = 0; i < RUNS; i++) warm.push(await timeMs(async () => (built = await builder.build(POVRAY))));
  console.log(
    `povray build, warm (recipe unchanged, stored result reused): p50 ${percentile(warm, 50).toFixed(0)} ms`,
  );
  return built;
}

/** Fetch (verify, load) into a fresh store each time, the image removed from the engine first. */
async function agoraFetch(
  runtime: DockerRuntime,
  source: ImageSource,
  hash: ImageHash,
  imageId: string,
  loadWhileReceiving = true,
): Promise<number> {
  const root = await mkdtemp(join(tmpdir(), "agora-bench-store-"));
  try {
    await runtime.removeImage(imageId);
    const fetcher = new ImageFetcher({
      engine: runtime,
      store: new ImageStore({ root }),
      sources: [source],
      loadWhileReceiving,
    });
    return await timeMs(async () => {
      const got = await fetcher.fetch(hash);
      if (got.imageId !== imageId || got.cached)
        throw new Error(`unexpected fetch result ${JSON.stringify(got)}`);
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** A static HTTP server in a child process answering every GET with `file`. */
async function serveFile(file: string, size: number): Promise<{ url: string; close(): void }> {
  const script = `
    const http = require("node:http"), fs = require("node:fs");
    const s = http.createServer((q, r) => {
      r.writeHead(200, { "content-length": ${size} });
      fs.createReadStream(${JSON.stringify(file)}, { highWaterMark: 1 << 20 }).pipe(r);
    });
    s.listen(0, "127.0.0.1", () => console.log(s.address().port));`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const [data] = (await once(child.stdout, "data")) as [Buffer];
  return { url: `http://127.0.0.1:${String(data).trim()}`, close: () => child.kill() };
}

async function rawLoad(runtime: DockerRuntime, file: string, imageId: string): Promise<number> {
  await runtime.removeImage(imageId);
  return timeMs(() => run$("docker", ["load", "-i", file]));
}

export async function run(): Promise<void> {
  const runtime = new DockerRuntime();
  await runtime.ping();
  const store = new ImageStore({ root: testImageStoreRoot() });
  const { hash, imageId } = await buildTimes(runtime, store);
  const file = store.archivePath(hash);
  const size = (await stat(file)).size;
  console.log(`povray archive: ${(size / 2 ** 20).toFixed(1)} MiB, ${hash}`);

  // The HTTP server runs in its own process, as a remote server would: it must not share our CPU time.
  const server = await serveFile(file, size);
  const http = new HttpImageSource({ url: `${server.url}/{hex}` });

  const bus = new MemoryBus({ maxPayload: 2 * 2 ** 20 });
  const requestor = new SignedNode({ bus, identity: NodeIdentity.generate() });
  const provider = new SignedNode({ bus, identity: NodeIdentity.generate() });
  const sender = new StreamSender({ node: requestor });
  const imageServer = new ImageServer({ node: requestor, sender, store, hashes: [hash] });
  const overBus = new BusImageSource({ node: provider, from: requestor.nodeId });

  const raw: number[] = [];
  const viaHttp: number[] = [];
  const viaBus: number[] = [];
  const sequential: number[] = [];
  try {
    // Each round runs every variant once; the order rotates so none always goes first.
    const variants: (() => Promise<void>)[] = [
      async () => void raw.push(await rawLoad(runtime, file, imageId)),
      async () => void viaHttp.push(await agoraFetch(runtime, http, hash, imageId)),
      async () => void viaBus.push(await agoraFetch(runtime, overBus, hash, imageId)),
      async () => void sequential.push(await agoraFetch(runtime, http, hash, imageId, false)),
    ];
    for (let i = 0; i < RUNS; i++) {
      for (let j = 0; j < variants.length; j++) await variants[(i + j) % variants.length]!();
    }
  } finally {
    imageServer.close();
    sender.close();
    await bus.close();
    server.close();
    await runtime.loadImage(createReadStream(file)); // leave the image loaded, as the store says
  }
  const rawMiBs = mibPerSec(size, percentile(raw, 50));
  const rows: Row[] = [
    {
      metric: "povray archive: HTTP fetch + verify + load vs `docker load -i` (p50)",
      unit: "MiB/s",
      raw: rawMiBs,
      agora: mibPerSec(size, percentile(viaHttp, 50)),
      better: "higher",
      target: 0.9,
    },
    {
      metric: "povray archive: HTTP fetch + verify, then load (loadWhileReceiving: false) (p50)",
      unit: "MiB/s",
      raw: rawMiBs,
      agora: mibPerSec(size, percentile(sequential, 50)),
      better: "higher",
    },
    {
      metric: "povray archive: Bus (MemoryBus) fetch + verify + load vs `docker load -i` (p50)",
      unit: "MiB/s",
      raw: rawMiBs,
      agora: mibPerSec(size, percentile(viaBus, 50)),
      better: "higher",
    },
  ];
  printTable("Images: fetch + verify + load", rows);
  // The engine's speed swings with the machine's load; runs in one round share conditions, so the
  // median of per-round ratios is the steadier number.
  const pairs = (xs: number[]): string =>
    percentile(
      xs.map((x, i) => (raw[i] ?? NaN) / x),
      50,
    ).toFixed(2);
  console.log(
    `median of per-round ratios (raw time / agora time): http ${pairs(viaHttp)}×, ` +
      `http then load ${pairs(sequential)}×, bus ${pairs(viaBus)}×; load average ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(
    `samples (ms): raw ${raw.map((x) => x.toFixed(0)).join(", ")}; http ${viaHttp.map((x) => x.toFixed(0)).join(", ")}; ` +
      `bus ${viaBus.map((x) => x.toFixed(0)).join(", ")}; then-load ${sequential.map((x) => x.toFixed(0)).join(", ")}`,
  );
}

if (isMain(import.meta.url)) await run();
