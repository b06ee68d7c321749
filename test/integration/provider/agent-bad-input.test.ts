/**
 * Bad inputs against real provider agents (MemoryBus and NatsBus, real Docker): a malformed constraint, a
 * forged proposal, an agreement for an offer never made, another requestor's activity, exec after
 * termination, a transfer outside the volumes; idle agreements and shutdown terminate with reasons.
 */
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ConstraintParseError,
  demandSubject,
  LeastExpensiveLinearPayu,
  specBody,
} from "../../../src/market/index.js";
import type { SignedAgreement, Termination } from "../../../src/market/index.js";
import { AbortError } from "../../../src/errors.js";
import { ImageStore } from "../../../src/images/index.js";
import {
  BROADCAST,
  decodeFrame,
  encodeFrame,
  NodeIdentity,
  signEnvelope,
  systemClock,
} from "../../../src/protocol/index.js";
import { Batch, RequestorNode } from "../../../src/requestor/index.js";
import { MemoryBus, NatsBus, type Bus } from "../../../src/transport/index.js";
import { NatsServer } from "../helpers/nats-server.js";
import { testImageStoreRoot } from "../helpers/busybox-image.js";
import { startMarket, type Market } from "../market/fixture.js";

let server: NatsServer;
beforeAll(async () => {
  server = await NatsServer.start();
});
afterAll(async () => {
  await server?.stop();
});

interface Buses {
  /** One bus for the agents, the requestor and the forger. */
  readonly bus: Bus;
  readonly settle: () => Promise<void>;
}

const variants: [string, () => Promise<Buses>][] = [
  ["MemoryBus", () => Promise.resolve({ bus: new MemoryBus(), settle: () => Promise.resolve() })],
  [
    "NatsBus",
    async () => {
      const bus = await NatsBus.connect({ servers: server.url });
      return { bus, settle: () => bus.flush() };
    },
  ],
];

describe.each(variants)("provider agent on %s, bad inputs", (_name, makeBus) => {
  let bus: Bus;
  let m: Market;
  beforeAll(async () => {
    const b = await makeBus();
    bus = b.bus;
    m = await startMarket({
      providerBus: bus,
      requestorBus: bus,
      subnet: `bad${randomUUID().slice(0, 8)}`,
      settle: b.settle,
    });
  });
  afterAll(async () => {
    await m?.close();
    await bus?.close();
  });

  async function agree(): Promise<SignedAgreement> {
    const { agreement } = await m.requestor.market.negotiate(m.demand(), new LeastExpensiveLinearPayu(), {
      windowMs: 500,
      expiresAt: Date.now() + 300_000,
    });
    return agreement;
  }

  it("refuses a malformed constraint filter, on the requestor's side and on the wire", async () => {
    expect(() => m.demand({ constraints: ["(&(agora.inf.mem.gib>=1)"] })).toThrow(ConstraintParseError);
    const body = {
      demandId: "d-bad",
      subnet: m.subnet,
      spec: { properties: specBody(m.demand()).properties, constraints: "(&(a=1)(b>=2)x" },
      expiresAt: Date.now() + 60_000,
    };
    const reasons: string[] = [];
    for await (const reply of m.requestor.node.requestMany(
      demandSubject(m.subnet),
      BROADCAST,
      { type: "Demand", body },
      { maxWaitMs: 500 },
    ))
      if (reply.envelope.type === "DemandRejected") reasons.push(reply.envelope.body.reason);
    expect(reasons).toHaveLength(3);
    for (const r of reasons) expect(r).toMatch(/does not parse: constraint parse error at 13/);
  });

  it("drops a proposal forged in another node's name", async () => {
    const rogue = NodeIdentity.generate();
    const victim = m.agents[0]!.nodeId;
    const sub = bus.subscribe(demandSubject(m.subnet), (raw) => {
      const { json } = decodeFrame(raw.data);
      const demand = json as { id: string; body: { demandId: string } };
      const { json: forged } = signEnvelope(
        rogue,
        {
          type: "Proposal",
          to: m.requestor.nodeId,
          re: demand.id,
          body: {
            proposalId: "forged",
            demandId: demand.body.demandId,
            spec: { properties: { "agora.com.pricing.model": "linear" }, constraints: "" },
            expiresAt: Date.now() + 60_000,
          },
        },
        systemClock,
      );
      const lie = JSON.stringify({ ...(JSON.parse(forged) as object), from: victim });
      raw.respond(encodeFrame(lie));
    });
    try {
      const before = m.requestor.node.drops.bad_signature;
      const got = await m.requestor.market.collectProposals(m.demand(), { windowMs: 500 });
      expect(got.proposals.map((p) => p.proposalId)).not.toContain("forged");
      expect(got.proposals).toHaveLength(3);
      expect(m.requestor.node.drops.bad_signature).toBe(before + 1);
    } finally {
      sub.unsubscribe();
    }
  });

  it("rejects an agreement for an offer never made, with the reason", async () => {
    const got = await m.requestor.market.collectProposals(m.demand(), { windowMs: 500 });
    const real = got.proposals[0]!;
    await expect(
      m.requestor.market.proposeAgreement(
        got.demand,
        { ...real, proposalId: "never-made" },
        { expiresAt: Date.now() + 60_000 },
      ),
    ).rejects.toThrow(/agreement rejected: unknown offer: no proposal never-made was made to you/);
  });

  it("keeps activities to their requestor, refuses paths outside the volumes and exec after termination", async () => {
    const agreement = await agree();
    const activity = await m.requestor.activities.create(agreement);
    const other = new RequestorNode({
      bus,
      subnet: m.subnet,
      imageStore: new ImageStore({ root: testImageStoreRoot() }),
    });
    try {
      const hello = new Batch().deploy().start().run("/bin/echo", "hi");
      await expect(other.activities.exec(activity, hello)).rejects.toThrow(
        `no activity ${activity.activityId} of yours`,
      );

      const escape = new Batch().deploy().start().sendBytes("x", "/etc/passwd");
      await expect(m.requestor.activities.exec(activity, escape)).rejects.toThrow(
        /path "\/etc\/passwd" lies outside the container's volumes/,
      );
      const dotdot = new Batch().downloadBytes("/golem/output/../../etc/shadow");
      await expect(m.requestor.activities.exec(activity, dotdot)).rejects.toThrow(
        /parent-directory segment \(\.\.\)/,
      );

      const ok = await m.requestor.activities.exec(activity, hello);
      expect(ok.results[2]!.stdout).toBe("hi\n");

      const failing = await m.requestor.activities.exec(
        activity,
        new Batch().run("/bin/sh", "-c", "echo oops >&2; exit 3"),
      );
      expect(failing.ok).toBe(false);
      expect(failing.message).toBe("command 0 exited with code 3");
      expect(failing.results[0]).toMatchObject({ exitCode: 3, stderr: "oops\n" });

      await m.requestor.activities.destroy(activity);
      await expect(m.requestor.activities.exec(activity, hello)).rejects.toThrow(
        `activity ${activity.activityId} is terminated`,
      );
    } finally {
      other.close();
      await m.requestor.market.terminate(agreement, { reason: "Success" });
    }
  });

  it("cancels a running batch, and stops one at its timeout, with the reason", async () => {
    const agreement = await agree();
    const activity = await m.requestor.activities.create(agreement);
    try {
      const started = await m.requestor.activities.exec(activity, new Batch().deploy().start());
      expect(started.ok).toBe(true);
      const sleepy = new Batch().run("/bin/sleep", "30");
      await expect(
        m.requestor.activities.exec(activity, sleepy, { signal: AbortSignal.timeout(300) }),
      ).rejects.toThrow(AbortError);
      const slow = await m.requestor.activities.exec(activity, sleepy, { timeoutMs: 300 });
      expect(slow.ok).toBe(false);
      expect(slow.message).toMatch(/the batch timed out after 300 ms/);
      const after = await m.requestor.activities.exec(activity, new Batch().run("/bin/echo", "still here"));
      expect(after.results[0]!.stdout).toBe("still here\n");
    } finally {
      await m.requestor.market.terminate(agreement, { reason: "Success" });
    }
  });

  it("terminates an idle agreement (NoActivity) and, at shutdown, agreements in force (Shutdown)", async () => {
    const idle = await m.addAgent("cheap", { idleTimeoutMs: 400, name: "idle" });
    const heard: Termination[] = [];
    const off = m.requestor.market.onTerminated((id, t) => heard.push(t));
    try {
      // Pin the idle agent: deny the others by asking for its name.
      const demand = m.demand({ constraints: ["(agora.node.id.name=idle)"] });
      const first = await m.requestor.market.negotiate(demand, new LeastExpensiveLinearPayu(), {
        windowMs: 300,
        expiresAt: Date.now() + 300_000,
      });
      expect(first.agreement.providerId).toBe(idle.nodeId);
      await waitFor(() => heard.length === 1, 5_000);
      expect(heard[0]).toEqual({ reason: "NoActivity", message: "no activity for 400 ms" });
      expect(idle.activeAgreements).toBe(0);

      const second = await m.requestor.market.negotiate(demand, new LeastExpensiveLinearPayu(), {
        windowMs: 300,
        expiresAt: Date.now() + 300_000,
      });
      await m.requestor.activities.create(second.agreement); // not idle: an activity holds it
      await new Promise((r) => setTimeout(r, 600));
      expect(idle.activeAgreements).toBe(1);
      await Promise.all([idle.shutdown(), idle.shutdown()]);
      expect(heard[1]).toEqual({ reason: "Shutdown", message: "the provider is shutting down" });
      expect(idle.liveActivities).toBe(0);
      expect(idle.state).toBe("stopped");
      expect(await m.runtime.cleanupOrphans(idle.nodeId)).toBe(0); // its containers are gone
    } finally {
      off();
    }
  });
});

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
