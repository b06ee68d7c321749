/** ProviderAgent's market side over MemoryBus with a fake runtime: no Docker, no activity. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ImageStore } from "../../../src/images/index.js";
import { checkSignedAgreement, demandFor, LeastExpensiveLinearPayu } from "../../../src/market/index.js";
import { ProviderAgent } from "../../../src/provider/index.js";
import { RequestorNode, scanOffers } from "../../../src/requestor/index.js";
import { MemoryBus } from "../../../src/transport/index.js";
import { fakeRuntime } from "./fake-runtime.js";
import { IMAGE, preset } from "./fixtures.js";

let dir: string;
let bus: MemoryBus;
let requestor: RequestorNode;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "agora-agent-unit-"));
  bus = new MemoryBus();
  requestor = new RequestorNode({
    bus,
    subnet: "devnet",
    imageStore: new ImageStore({ root: join(dir, "images") }),
  });
});
afterEach(async () => {
  requestor.close();
  await bus.close();
  await rm(dir, { recursive: true, force: true });
});

const demand = () => demandFor({ taskPackage: IMAGE, expiresAt: Date.now() + 600_000, subnet: "devnet" });
const opts = () => ({ windowMs: 100, expiresAt: Date.now() + 300_000 });

async function agent(limits: Parameters<typeof preset>[0] = {}, extra: { announceIntervalMs?: number } = {}) {
  const { runtime, calls } = fakeRuntime();
  const a = await ProviderAgent.create({
    bus,
    runtime,
    dataDir: join(dir, `agent-${Math.random()}`),
    preset: preset(limits),
    announceIntervalMs: extra.announceIntervalMs ?? 0,
    capToMachine: false,
    shutdownGraceMs: 1000,
  });
  return { a, calls };
}

describe("ProviderAgent", () => {
  it("removes orphans at start, agrees with a signed agreement, and is refused at capacity", async () => {
    const { a, calls } = await agent({ maxAgreements: 1 });
    expect(calls).toEqual([`cleanupOrphans ${a.nodeId.slice(0, 8)}`]);
    const { agreement } = await requestor.market.negotiate(demand(), new LeastExpensiveLinearPayu(), opts());
    expect(checkSignedAgreement(agreement)).toBeUndefined();
    expect(a.activeAgreements).toBe(1);
    await expect(
      requestor.market.negotiate(demand(), new LeastExpensiveLinearPayu(), opts()),
    ).rejects.toThrow(
      /no agreement: 0 proposal\(s\) in 100 ms \(.*: at capacity: 1 of 1 agreements in force\)/,
    );
    await requestor.market.terminate(agreement, { reason: "Cancelled" });
    expect(a.activeAgreements).toBe(0);
    await a.shutdown();
  });

  it("terminates agreements at shutdown (Shutdown), bounded and safe twice", async () => {
    const { a, calls } = await agent();
    const heard: string[] = [];
    requestor.market.onTerminated((id, t) => heard.push(`${id}:${t.reason}`));
    const { agreement } = await requestor.market.negotiate(demand(), new LeastExpensiveLinearPayu(), opts());
    const first = a.shutdown();
    expect(a.shutdown()).toBe(first);
    await first;
    expect(a.state).toBe("stopped");
    expect(heard).toEqual([`${agreement.agreementId}:Shutdown`]);
    expect(calls.filter((c) => c.startsWith("cleanupOrphans"))).toHaveLength(2);
    const after = await requestor.market.collectProposals(demand(), { windowMs: 50 });
    expect(after.proposals).toHaveLength(0);
  });

  it("refuses to create an activity on someone else's agreement, naming why", async () => {
    const { a } = await agent();
    const { agreement } = await requestor.market.negotiate(demand(), new LeastExpensiveLinearPayu(), opts());
    const other = new RequestorNode({
      bus,
      subnet: "devnet",
      imageStore: new ImageStore({ root: join(dir, "o") }),
    });
    try {
      await expect(other.activities.create(agreement, { timeoutMs: 2000 })).rejects.toThrow(
        `no agreement ${agreement.agreementId} with you`,
      );
    } finally {
      other.close();
      await a.shutdown();
    }
  });

  it("announces its offer for `market scan`", async () => {
    const { a } = await agent({}, { announceIntervalMs: 20 });
    const offers = await scanOffers(requestor.node, { subnet: "devnet", durationMs: 100 });
    expect(offers.map((o) => o.providerId)).toEqual([a.nodeId]);
    expect(offers[0]!.offer.properties["agora.node.id.name"]).toBe("unit");
    await a.shutdown();
  });
});
