/**
 * Provider agents for the Executor's integration tests: N agents (the bundled presets) on a bus,
 * on the real Docker engine, with the busybox image in the test image store (which the requestor
 * reads as its default store: AGORA_HOME points at it).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { ImageHash } from "../../../src/images/index.js";
import { ProviderAgent, type ProviderAgentOptions } from "../../../src/provider/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import type { Bus } from "../../../src/transport/index.js";
import { testImageStoreRoot } from "../helpers/busybox-image.js";
import { busyboxHash } from "../market/fixture.js";

/** Build the busybox image (once) and make the test store the requestor's default store. */
export async function prepareImage(): Promise<ImageHash> {
  const hash = await busyboxHash();
  process.env.AGORA_HOME = dirname(testImageStoreRoot());
  return hash;
}

export interface Agents {
  readonly agents: ProviderAgent[];
  add(preset: string, extra?: Partial<ProviderAgentOptions>): Promise<ProviderAgent>;
  close(): Promise<void>;
}

const PRESETS = ["default", "premium", "default"] as const;

/** Start `n` agents in `subnet` on `bus` (closed by `close()`). */
export async function startAgents(
  bus: Bus,
  subnet: string,
  n = 3,
  settle?: () => Promise<void>,
): Promise<Agents> {
  const root = await mkdtemp(join(tmpdir(), "agora-exec-"));
  const runtime = new DockerRuntime({ killGraceMs: 1_000 });
  const agents: ProviderAgent[] = [];
  let count = 0;
  const add = async (preset: string, extra: Partial<ProviderAgentOptions> = {}): Promise<ProviderAgent> => {
    const i = ++count;
    const agent = await ProviderAgent.create({
      bus,
      runtime,
      dataDir: join(root, `p${i}`),
      preset,
      name: `${subnet}-${i}`,
      subnet,
      announceIntervalMs: 0,
      shutdownGraceMs: 5_000,
      containerLimits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pidsLimit: 64 },
      ...extra,
    });
    agents.push(agent);
    await settle?.();
    return agent;
  };
  for (let i = 0; i < n; i++) await add(PRESETS[i % PRESETS.length] ?? "default");
  return {
    agents,
    add,
    async close() {
      await Promise.all(agents.map((a) => a.shutdown()));
      await rm(root, { recursive: true, force: true });
    },
  };
}
