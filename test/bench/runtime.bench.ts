/**
 * Runtime benchmark (issue 2, item 7): DockerRuntime against a raw dockerode baseline written
 * here, measured in the same run. Container create+start, exec of `true` (p50/p95), put/get of
 * 64 MiB and 256 MiB. Targets: exec ≤ 1.10× raw, transfers ≥ 0.9× raw throughput.
 *
 * `npx tsx test/bench/runtime.bench.ts` runs it alone; `npm run bench` runs it with the others.
 */
import Docker from "dockerode";
import { randomBytes, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { DockerRuntime, type ResourceLimits } from "../../src/provider/runtime/index.js";
import { busyboxImage } from "../integration/helpers/busybox-image.js";
import { isMain, mibPerSec, percentile, printTable, timeMs, type Row } from "./report.js";

const MiB = 1024 * 1024;
const EXEC_RUNS = 150;
const START_RUNS = 8;
const TRANSFER_RUNS = 5;
const LIMITS: ResourceLimits = {
  memoryBytes: 1024 * MiB,
  nanoCpus: 1_000_000_000,
  pidsLimit: 128,
  tmpfsBytes: 64 * MiB,
  logMaxBytes: MiB,
};

/** The baseline: what a caller would write with dockerode alone, with the same hardening. */
class RawDocker {
  readonly docker = new Docker();
  readonly created: string[] = [];

  async createAndStart(image: string): Promise<Docker.Container> {
    const container = await this.docker.createContainer({
      Image: image,
      User: "1000:1000",
      Entrypoint: [""],
      Cmd: ["/bin/sh", "-c", "while :; do sleep 3600 & wait $!; done"],
      Labels: { "agora.bench": "raw" },
      HostConfig: {
        NetworkMode: "none",
        ReadonlyRootfs: true,
        CapDrop: ["ALL"],
        SecurityOpt: ["no-new-privileges"],
        Init: true,
        PidsLimit: LIMITS.pidsLimit,
        Memory: LIMITS.memoryBytes,
        MemorySwap: LIMITS.memoryBytes,
        NanoCpus: LIMITS.nanoCpus,
        Tmpfs: { "/tmp": `size=${LIMITS.tmpfsBytes}` },
      },
    });
    this.created.push(container.id);
    await container.start();
    return container;
  }

  async exec(container: Docker.Container, cmd: string[]): Promise<number> {
    const exec = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out: Buffer[] = [];
    stream.on("data", (c: Buffer) => out.push(c));
    await new Promise<void>((resolve, reject) => {
      stream.once("end", resolve);
      stream.once("close", resolve);
      stream.once("error", reject);
    });
    stream.destroy();
    return (await exec.inspect()).ExitCode ?? -1;
  }

  async put(container: Docker.Container, dir: string, name: string, data: Buffer): Promise<void> {
    const pack = tar.pack();
    pack.entry({ name, size: data.length, uid: 1000, gid: 1000 }, data);
    pack.finalize();
    await container.putArchive(Readable.from(pack, { objectMode: false }), { path: dir });
  }

  async get(container: Docker.Container, path: string): Promise<number> {
    const res = (await container.getArchive({ path })) as Readable;
    const extract = tar.extract();
    res.pipe(extract);
    let bytes = 0;
    for await (const entry of extract) for await (const chunk of entry) bytes += (chunk as Buffer).length;
    return bytes;
  }

  async cleanup(): Promise<void> {
    for (const id of this.created.splice(0))
      await this.docker.getContainer(id).remove({ force: true, v: true });
  }
}

export async function run(): Promise<void> {
  const image = await busyboxImage();
  const runtime = new DockerRuntime();
  const raw = new RawDocker();
  const agentId = `bench-${randomUUID()}`;
  const rows: Row[] = [];
  try {
    // Container create + start.
    const rawStart: number[] = [];
    const agoraStart: number[] = [];
    for (let i = 0; i < START_RUNS; i++) {
      rawStart.push(await timeMs(() => raw.createAndStart(image)));
      agoraStart.push(
        await timeMs(async () => {
          const c = await runtime.deploy({ image, agentId, activityId: `start-${i}`, limits: LIMITS });
          await runtime.start(c.id);
        }),
      );
    }
    await raw.cleanup();
    await runtime.cleanupOrphans(agentId);
    rows.push({
      metric: "create+start p50",
      unit: "ms",
      raw: percentile(rawStart, 50),
      agora: percentile(agoraStart, 50),
      better: "lower",
    });

    const rawC = await raw.createAndStart(image);
    const info = await runtime.deploy({ image, agentId, activityId: "bench", limits: LIMITS });
    await runtime.start(info.id);

    // exec `true`, interleaved so both see the same machine load.
    const rawExec: number[] = [];
    const agoraExec: number[] = [];
    for (let i = 0; i < 5; i++) {
      await raw.exec(rawC, ["true"]);
      await runtime.exec(info.id, ["true"]);
    }
    for (let i = 0; i < EXEC_RUNS; i++) {
      rawExec.push(await timeMs(() => raw.exec(rawC, ["true"])));
      agoraExec.push(await timeMs(() => runtime.exec(info.id, ["true"])));
    }
    for (const p of [50, 95])
      rows.push({
        metric: `exec \`true\` p${p} (n=${EXEC_RUNS})`,
        unit: "ms",
        raw: percentile(rawExec, p),
        agora: percentile(agoraExec, p),
        better: "lower",
        target: 1.1,
      });

    // put / get of 64 MiB and 256 MiB into /golem/work; best of TRANSFER_RUNS each.
    for (const size of [64 * MiB, 256 * MiB]) {
      const data = randomBytes(size);
      const label = `${size / MiB} MiB`;
      let rawPut = Infinity;
      let agoraPut = Infinity;
      let rawGet = Infinity;
      let agoraGet = Infinity;
      for (let i = 0; i < TRANSFER_RUNS; i++) {
        rawPut = Math.min(rawPut, await timeMs(() => raw.put(rawC, "/golem/work", "blob.bin", data)));
        agoraPut = Math.min(
          agoraPut,
          await timeMs(() => runtime.putFiles(info.id, [{ path: "/golem/work/blob.bin", source: data }])),
        );
        rawGet = Math.min(rawGet, await timeMs(() => raw.get(rawC, "/golem/work/blob.bin")));
        agoraGet = Math.min(
          agoraGet,
          await timeMs(async () => {
            const stream = await runtime.getFile(info.id, "/golem/work/blob.bin", { maxBytes: size });
            let bytes = 0;
            for await (const chunk of stream) bytes += (chunk as Buffer).length;
            if (bytes !== size) throw new Error(`got ${bytes} of ${size} bytes`);
          }),
        );
      }
      rows.push({
        metric: `put ${label}`,
        unit: "MiB/s",
        raw: mibPerSec(size, rawPut),
        agora: mibPerSec(size, agoraPut),
        better: "higher",
        target: 0.9,
      });
      rows.push({
        metric: `get ${label}`,
        unit: "MiB/s",
        raw: mibPerSec(size, rawGet),
        agora: mibPerSec(size, agoraGet),
        better: "higher",
        target: 0.9,
      });
    }
  } finally {
    await raw.cleanup();
    await runtime.cleanupOrphans(agentId);
  }
  printTable("Runtime: DockerRuntime vs raw dockerode", rows);
}

if (isMain(import.meta.url)) await run();
