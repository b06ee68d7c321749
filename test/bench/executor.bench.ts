/**
 * Executor benchmark (issue 6, item 8), against raw DockerRuntime execs measured in the same run:
 * - N tiny tasks (`true`) on 4 agents vs the same N execs issued raw through DockerRuntime on 4
 *   containers with the same parallelism (target ≤ 1.15× raw wall time);
 * - submit → first command running, image cached, on MemoryBus (local(4); target ≤ 1 s) and on NATS
 *   (4 agents on a real nats-server; target ≤ 1.5 s), next to a raw container deploy+start+exec.
 *
 * `AGORA_BENCH_TASKS` sets N (default 2,000). `npx tsx test/bench/executor.bench.ts` runs it alone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { docker, Executor, local, nats, Task, type Network, type Worker } from "../../src/index.js";
import { ImageBuilder, ImageStore, type ImageHash } from "../../src/images/index.js";
import { ProviderAgent } from "../../src/provider/index.js";
import { DockerRuntime, type ResourceLimits } from "../../src/provider/runtime/index.js";
import { NatsBus } from "../../src/transport/index.js";
import {
  BUSYBOX_RECIPE_DIR,
  busyboxImage,
  testImageStoreRoot,
} from "../integration/helpers/busybox-image.js";
import { NatsServer } from "../integration/helpers/nats-server.js";
import { isMain, printTable, timeMs, type Row } from "./report.js";

const TASKS = Number(process.env.AGORA_BENCH_TASKS ?? 2_000);
const AGENTS = 4;
const MiB = 1024 * 1024;
const LIMITS: ResourceLimits = {
  memoryBytes: 1024 * MiB,
  nanoCpus: 1_000_000_000,
  pidsLimit: 512,
  tmpfsBytes: 64 * MiB,
  logMaxBytes: MiB,
};

const trueWorker: Worker<number, void> = async function* (ctx, tasks) {
  for await (const task of tasks) {
    ctx.run(["true"]);
    yield ctx.commit({ timeout: 60_000 });
    task.acceptResult(undefined);
  }
};

async function imageHash(): Promise<ImageHash> {
  await busyboxImage();
  const built = await new ImageBuilder(
    new DockerRuntime(),
    new ImageStore({ root: testImageStoreRoot() }),
  ).build(BUSYBOX_RECIPE_DIR);
  process.env.AGORA_HOME = dirname(testImageStoreRoot());
  return built.hash;
}

/** N execs of `true` on `AGENTS` containers, `AGENTS` at a time (one loop per container). */
async function rawExecs(image: string, n: number): Promise<{ wallMs: number; firstMs: number }> {
  const runtime = new DockerRuntime();
  const agentId = `bench-exec-${process.pid}`;
  try {
    const t0 = performance.now();
    const first = await runtime.deploy({ image, agentId, activityId: "first", limits: LIMITS });
    await runtime.start(first.id);
    await runtime.exec(first.id, ["true"]);
    const firstMs = performance.now() - t0;
    const ids = [first.id];
    for (let i = 1; i < AGENTS; i++) {
      const c = await runtime.deploy({ image, agentId, activityId: `c${i}`, limits: LIMITS });
      await runtime.start(c.id);
      ids.push(c.id);
    }
    let next = 0;
    const wallMs = await timeMs(() =>
      Promise.all(
        ids.map(async (id) => {
          while (next < n) {
            next++;
            await runtime.exec(id, ["true"]);
          }
        }),
      ),
    );
    return { wallMs, firstMs };
  } finally {
    await runtime.cleanupOrphans(agentId);
  }
}

/** Submit N `true` tasks; wall from submit to the last task, and submit → first command running. */
async function agoraRun(
  hash: ImageHash,
  network: Network,
  n: number,
  marketWindowMs: number | undefined,
): Promise<{ wallMs: number; firstMs: number }> {
  await using ex = new Executor({
    package: docker.repo({ imageHash: hash }),
    network,
    maxWorkers: AGENTS,
    subnetTag: "bench",
    timeout: 1_800_000,
    ...(marketWindowMs === undefined ? {} : { marketWindowMs }),
  });
  let firstAt: number | undefined;
  const sub = ex.events$.subscribe((e) => {
    if (e.type === "command.started") firstAt ??= performance.now();
  });
  const t0 = performance.now();
  let accepted = 0;
  for await (const t of ex.submit(
    trueWorker,
    Array.from({ length: n }, (_, i) => new Task<number, void>(i)),
  ))
    if (t.status === "accepted") accepted++;
  const wallMs = performance.now() - t0;
  sub.unsubscribe();
  if (accepted !== n) throw new Error(`only ${accepted} of ${n} tasks accepted`);
  return { wallMs, firstMs: (firstAt ?? Number.NaN) - t0 };
}

/** 4 agents on a real nats-server; the Executor connects with nats({ servers }). */
async function natsFirstCommand(hash: ImageHash): Promise<number> {
  const server = await NatsServer.start();
  const bus = await NatsBus.connect({ servers: server.url });
  const dir = await mkdtemp(join(tmpdir(), "agora-bench-nats-"));
  const runtime = new DockerRuntime();
  const agents: ProviderAgent[] = [];
  try {
    for (let i = 0; i < AGENTS; i++)
      agents.push(
        await ProviderAgent.create({
          bus,
          runtime,
          dataDir: join(dir, `p${i}`),
          preset: "default",
          subnet: "bench",
          name: `bench-${i}`,
          imageStore: new ImageStore({ root: testImageStoreRoot() }),
          announceIntervalMs: 0,
        }),
      );
    await bus.flush();
    await agoraRun(hash, nats({ servers: server.url }), 4, undefined); // warm-up
    return (await agoraRun(hash, nats({ servers: server.url }), 4, undefined)).firstMs;
  } finally {
    await Promise.all(agents.map((a) => a.shutdown()));
    await bus.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

export async function run(): Promise<void> {
  const hash = await imageHash();
  const image = await busyboxImage();
  console.log(`${TASKS} tasks of \`true\` on ${AGENTS} agents (AGORA_BENCH_TASKS to change)`);
  const raw = await rawExecs(image, TASKS);
  await agoraRun(hash, local({ providers: AGENTS }), AGENTS, undefined); // warm-up: engine, image, code paths
  const agora = await agoraRun(hash, local({ providers: AGENTS }), TASKS, undefined);
  const localFirst = await agoraRun(hash, local({ providers: AGENTS }), 1, undefined);
  const natsFirst = await natsFirstCommand(hash);
  const rows: Row[] = [
    {
      metric: `${TASKS} × \`true\`, ${AGENTS} at a time: wall (agora from submit, incl. market + containers)`,
      unit: "ms",
      raw: raw.wallMs,
      agora: agora.wallMs,
      better: "lower",
      target: 1.15,
    },
    {
      metric: "submit → first command running (MemoryBus, local(4), cached image) vs raw deploy+start+exec",
      unit: "ms",
      raw: raw.firstMs,
      agora: localFirst.firstMs,
      better: "lower",
    },
    {
      metric: "submit → first command running (NATS, 4 agents, cached image) vs raw deploy+start+exec",
      unit: "ms",
      raw: raw.firstMs,
      agora: natsFirst,
      better: "lower",
    },
  ];
  printTable("Executor", rows);
  console.log(
    `targets: first command ≤ 1000 ms on MemoryBus (${localFirst.firstMs.toFixed(0)} ms), ` +
      `≤ 1500 ms on NATS (${natsFirst.toFixed(0)} ms)`,
  );
}

if (isMain(import.meta.url)) await run();
