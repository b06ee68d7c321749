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
const TRANSFER_RUNS = 6;
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

interface Best {
  /** Best wall time, ms. */
  wall: number;
  /** Best CPU time of this process (user + system), ms: what our own code costs, whatever the load. */
  cpu: number;
}

async function measure(fn: () => Promise<void>, best: Best): Promise<void> {
  const cpu0 = process.cpuUsage();
  const wall = await timeMs(fn);
  const cpu = process.cpuUsage(cpu0);
  best.wall = Math.min(best.wall, wall);
  best.cpu = Math.min(best.cpu, (cpu.user + cpu.system) / 1000);
}

/** Best times of each over TRANSFER_RUNS rounds, the side that goes first alternating. */
async function bestOfAlternating(
  raw: () => Promise<void>,
  agora: () => Promise<void>,
): Promise<[Best, Best]> {
  const r: Best = { wall: Infinity, cpu: Infinity };
  const a: Best = { wall: Infinity, cpu: Infinity };
  for (let i = 0; i < TRANSFER_RUNS; i++) {
    if (i % 2 === 0) {
      await measure(raw, r);
      await measure(agora, a);
    } else {
      await measure(agora, a);
      await measure(raw, r);
    }
  }
  return [r, a];
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

    // put / get of 64 MiB and 256 MiB into /golem/work: all puts, then all gets, alternating which
    // side goes first (the one that wrote last would otherwise read against its own writeback).
    for (const size of [64 * MiB, 256 * MiB]) {
      const data = randomBytes(size);
      const label = `${size / MiB} MiB`;
      const rawPut = (): Promise<void> => raw.put(rawC, "/golem/work", "blob.bin", data);
      const agoraPut = (): Promise<void> =>
        runtime.putFiles(info.id, [{ path: "/golem/work/blob.bin", source: data }]);
      const rawGet = async (): Promise<void> => {
        const bytes = await raw.get(rawC, "/golem/work/blob.bin");
        if (bytes !== size) throw new Error(`raw got ${bytes} of ${size} bytes`);
      };
      const agoraGet = async (): Promise<void> => {
        const stream = await runtime.getFile(info.id, "/golem/work/blob.bin", { maxBytes: size });
        let bytes = 0;
        for await (const chunk of stream) bytes += (chunk as Buffer).length;
        if (bytes !== size) throw new Error(`agora got ${bytes} of ${size} bytes`);
      };
      for (const [op, rawOp, agoraOp] of [
        ["put", rawPut, agoraPut],
        ["get", rawGet, agoraGet],
      ] as const) {
        const [r, a] = await bestOfAlternating(rawOp, agoraOp);
        rows.push({
          metric: `${op} ${label}`,
          unit: "MiB/s",
          raw: mibPerSec(size, r.wall),
          agora: mibPerSec(size, a.wall),
          better: "higher",
          target: 0.9,
        });
        rows.push({
          metric: `${op} ${label}, client CPU`,
          unit: "ms",
          raw: r.cpu,
          agora: a.cpu,
          better: "lower",
        });
      }
    }
  } finally {
    await raw.cleanup();
    await runtime.cleanupOrphans(agentId);
  }
  printTable("Runtime: DockerRuntime vs raw dockerode", rows);
}

if (isMain(import.meta.url)) await run();
