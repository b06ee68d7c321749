/** Shared set-up for the runtime's integration tests: one runtime, a per-run agent id, the busybox image. */
import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import { DockerRuntime } from "../../../../src/provider/runtime/index.js";
import type { ContainerInfo, ResourceLimits } from "../../../../src/provider/runtime/index.js";
import { busyboxImage } from "../../helpers/busybox-image.js";

export const MiB = 1024 * 1024;

export const TEST_LIMITS: ResourceLimits = {
  memoryBytes: 128 * MiB,
  nanoCpus: 500_000_000,
  pidsLimit: 64,
  tmpfsBytes: 16 * MiB,
  logMaxBytes: MiB,
};

export interface RuntimeFixture {
  readonly runtime: DockerRuntime;
  readonly agentId: string;
  readonly image: string;
  /** Deploy and start a hardened container for this run's agent. */
  up(limits?: Partial<ResourceLimits>): Promise<ContainerInfo>;
  /** Remove everything this run's agent left (containers and volumes). */
  cleanup(): Promise<number>;
}

export async function runtimeFixture(): Promise<RuntimeFixture> {
  const runtime = new DockerRuntime({ killGraceMs: 5000 });
  await runtime.ping();
  const agentId = `test-${randomUUID()}`;
  const image = await busyboxImage();
  return {
    runtime,
    agentId,
    image,
    async up(limits = {}) {
      const info = await runtime.deploy({
        image,
        agentId,
        activityId: `act-${randomUUID().slice(0, 8)}`,
        limits: { ...TEST_LIMITS, ...limits },
      });
      await runtime.start(info.id);
      return info;
    },
    cleanup: () => runtime.cleanupOrphans(agentId),
  };
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
