/** MarketClient against hand-written provider nodes on MemoryBus. */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MarketError } from "../../../src/errors.js";
import {
  agreementDocument,
  demandFor,
  demandSubject,
  LeastExpensiveLinearPayu,
  marketSubject,
  OfferBuilder,
  signAgreement,
  specBody,
} from "../../../src/market/index.js";
import { LinearPricing } from "../../../src/payment/index.js";
import { NodeIdentity, type MessageBody } from "../../../src/protocol/index.js";
import { MarketClient } from "../../../src/requestor/index.js";
import { MemoryBus, SignedNode, type AnyOutgoing } from "../../../src/transport/index.js";

const IMAGE = `docker:sha256:${"cd".repeat(32)}`;
const offer = new OfferBuilder()
  .nodeName("fake")
  .subnet("devnet")
  .resources({ cpuThreads: 1, memGib: 1, storageGib: 4 })
  .pricing(new LinearPricing({ start: "0", perDurationSec: "0.001", perCpuSec: "0.001" }))
  .build();
const demand = () => demandFor({ taskPackage: IMAGE, expiresAt: Date.now() + 600_000, subnet: "devnet" });

type Approve = (body: MessageBody<"AgreementProposal">, provider: NodeIdentity) => AnyOutgoing;

let bus: MemoryBus;
let client: MarketClient;
let requestorNode: SignedNode;
beforeEach(() => {
  bus = new MemoryBus();
  requestorNode = new SignedNode({ bus, identity: NodeIdentity.generate() });
  client = new MarketClient({ node: requestorNode, subnet: "devnet" });
});
afterEach(async () => {
  client.close();
  await bus.close();
});

/** A provider that proposes `offer` to every demand and answers agreements with `approve` (none: gone). */
function fakeProvider(approve: Approve | undefined, spec = offer): SignedNode {
  const identity = NodeIdentity.generate();
  const node = new SignedNode({ bus, identity });
  node.serve(demandSubject("devnet"), (msg) =>
    msg.envelope.type === "Demand"
      ? {
          type: "Proposal",
          body: {
            proposalId: "p1",
            demandId: msg.envelope.body.demandId,
            spec: specBody(spec),
            expiresAt: Date.now() + 60_000,
          },
        }
      : undefined,
  );
  if (approve)
    node.serve(marketSubject(identity.nodeId), (msg) =>
      msg.envelope.type === "AgreementProposal"
        ? approve(msg.envelope.body, identity)
        : { type: "Ack", body: {} },
    );
  return node;
}

/** Approve, signing the terms as proposed. */
const signedApproval: Approve = (body, provider) => ({
  type: "AgreementApproved",
  body: {
    agreementId: body.agreementId,
    approvedAt: 1,
    providerSignature: signAgreement(provider, agreementDocument(body)),
  },
});

const negotiate = () =>
  client.negotiate(demand(), new LeastExpensiveLinearPayu(), {
    windowMs: 50,
    expiresAt: Date.now() + 60_000,
  });

describe("MarketClient", () => {
  it("returns an agreement both sides signed", async () => {
    fakeProvider(signedApproval);
    const { agreement, collected } = await negotiate();
    expect(collected.proposals).toHaveLength(1);
    expect(collected.firstProposalMs).toBeGreaterThanOrEqual(0);
    expect(agreement.requestorId).toBe(requestorNode.nodeId);
  });

  it("moves on to the next provider when the best one is gone", async () => {
    const cheaper = new OfferBuilder()
      .nodeName("gone")
      .subnet("devnet")
      .resources({ cpuThreads: 1, memGib: 1, storageGib: 4 })
      .pricing(new LinearPricing({ start: "0", perDurationSec: "0", perCpuSec: "0" }))
      .build();
    const gone = fakeProvider(undefined, cheaper);
    const live = fakeProvider(signedApproval);
    const { agreement, refusals } = await negotiate();
    expect(agreement.providerId).toBe(live.nodeId);
    expect(refusals).toEqual([
      { providerId: gone.nodeId, reason: expect.stringMatching(/no responders/) as unknown },
    ]);
  });

  it("names the provider's reason when it rejects", async () => {
    fakeProvider((body) => ({
      type: "AgreementRejected",
      body: { agreementId: body.agreementId, reason: "too busy" },
    }));
    await expect(negotiate()).rejects.toThrow(
      /no agreement: 1 proposal\(s\) in 50 ms \(.*: agreement rejected: too busy\)/,
    );
  });

  it("refuses an approval that is not signed, or signed over other terms", async () => {
    fakeProvider((body) => ({
      type: "AgreementApproved",
      body: { agreementId: body.agreementId, approvedAt: 1 },
    }));
    await expect(negotiate()).rejects.toThrow(/approved without signing the terms/);
    client.close();
    await bus.close();
    bus = new MemoryBus();
    requestorNode = new SignedNode({ bus, identity: NodeIdentity.generate() });
    client = new MarketClient({ node: requestorNode, subnet: "devnet" });
    fakeProvider((body, provider) => ({
      type: "AgreementApproved",
      body: {
        agreementId: body.agreementId,
        approvedAt: 1,
        providerSignature: signAgreement(provider, {
          ...agreementDocument(body),
          expiresAt: body.expiresAt + 1,
        }),
      },
    }));
    await expect(negotiate()).rejects.toThrow(MarketError);
    await expect(negotiate()).rejects.toThrow(/the provider's signature does not match the terms/);
  });

  it("hears a provider's termination and ignores one for an agreement it does not hold", async () => {
    const provider = fakeProvider(signedApproval);
    const heard: string[] = [];
    client.onTerminated((id, t) => heard.push(`${id}:${t.reason}:${t.message ?? ""}`));
    const { agreement } = await negotiate();
    const terminate = (agreementId: string) =>
      provider.request(
        marketSubject(requestorNode.nodeId),
        requestorNode.nodeId,
        { type: "AgreementTerminated", body: { agreementId, reason: "NoActivity", message: "idle" } },
        { timeoutMs: 1000, expect: "Ack" },
      );
    await expect(terminate("unknown")).rejects.toThrow(/no agreement unknown with you/);
    await terminate(agreement.agreementId);
    expect(heard).toEqual([`${agreement.agreementId}:NoActivity:idle`]);
  });
});
