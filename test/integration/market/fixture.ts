/**
 * A small market for integration tests: three provider agents with different prices (cheap,
 * default, premium presets) on the real Docker engine, and a requestor serving the busybox image.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageBuilder, ImageStore, type ImageHash } from "../../../src/images/index.js";
import { demandFor, type Demand, type DemandOptions } from "../../../src/market/index.js";
import { loadPreset, ProviderAgent, type ProviderAgentOptions } from "../../../src/provider/index.js";
import { DockerRuntime } from "../../../src/provider/runtime/index.js";
import { RequestorNode } from "../../../src/requestor/index.js";
import type { Bus } from "../../../src/transport/index.js";
import { BUSYBOX_RECIPE_DIR, busyboxImage, testImageStoreRoot } from "../helpers/busybox-image.js";

let hashPending: Promise<ImageHash> | undefined;

/** The busybox image's content hash (built once per run, then from the test store). */
export function busyboxHash(): Promise<ImageHash> {
  hashPending ??= (async () => {
    await busyboxImage();
    const built = await new ImageBuilder(
      new DockerRuntime(),
      new ImageStore({ root: testImageStoreRoot() }),
    ).build(BUSYBOX_RECIPE_DIR);
    return built.hash;
  })();
  return hashPending;
}

export interface Market {
  readonly agents: readonly ProviderAgent[];
  readonly requestor: RequestorNode;
  readonly hash: ImageHash;
  readonly subnet: string;
  readonly runtime: DockerRuntime;
  /** A demand for the busybox image in this market's subnet. */
  demand(extra?: Partial<DemandOptions>): Demand;
  /** Start one more agent (closed with the market). */
  addAgent(preset: string, opts?: Partial<ProviderAgentOptions>): Promise<ProviderAgent>;
  close(): Promise<void>;
}

export interface MarketOptions {
  /** The agents' bus. */
  readonly providerBus: Bus;
  /** The requestor's bus (the same one on MemoryBus). */
  readonly requestorBus: Bus;
  readonly subnet: string;
  /** Wait until subscriptions reach the server (NATS). */
  readonly settle?: () => Promise<void>;
  readonly agentOptions?: Partial<ProviderAgentOptions>;
}

export const PRESETS = ["premium", "cheap", "default"] as const;

export async function startMarket(opts: MarketOptions): Promise<Market> {
  const hash = await busyboxHash();
  const runtime = new DockerRuntime({ killGraceMs: 2000 });
  const dirs: string[] = [];
  const agents: ProviderAgent[] = [];
  const addAgent = async (
    name: string,
    extra: Partial<ProviderAgentOptions> = {},
  ): Promise<ProviderAgent> => {
    const dataDir = await mkdtemp(join(tmpdir(), `agora-agent-${name}-`));
    dirs.push(dataDir);
    const preset = { ...(await loadPreset(name)), subnet: opts.subnet };
    const agent = await ProviderAgent.create({
      bus: opts.providerBus,
      dataDir,
      runtime,
      preset,
      announceIntervalMs: 0,
      containerLimits: { memoryBytes: 128 * 1024 * 1024, nanoCpus: 500_000_000, pidsLimit: 64 },
      ...opts.agentOptions,
      ...extra,
    });
    agents.push(agent);
    await opts.settle?.();
    return agent;
  };
  for (const p of PRESETS) await addAgent(p);
  const requestor = new RequestorNode({
    bus: opts.requestorBus,
    subnet: opts.subnet,
    imageStore: new ImageStore({ root: testImageStoreRoot() }),
    images: [hash],
  });
  await opts.settle?.();
  return {
    agents,
    requestor,
    hash,
    subnet: opts.subnet,
    runtime,
    addAgent,
    demand: (extra = {}) =>
      demandFor({
        taskPackage: `docker:${hash}`,
        expiresAt: Date.now() + 600_000,
        subnet: opts.subnet,
        ...extra,
      }),
    async close() {
      requestor.close();
      await Promise.all(agents.map((a) => a.shutdown()));
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    },
  };
}
