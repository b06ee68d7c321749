import { describe, expect, it } from "vitest";
import { agreementDocument, signAgreement, specBody } from "../../../src/market/index.js";
import { Negotiator, offerFromPreset, type MadeProposal } from "../../../src/provider/index.js";
import { NodeIdentity, type MessageBody } from "../../../src/protocol/index.js";
import { demandBody, NOW, preset } from "./fixtures.js";

const requestor = NodeIdentity.generate();
const provider = NodeIdentity.generate();

function negotiator(limits: Parameters<typeof preset>[0] = {}): Negotiator {
  const p = preset(limits);
  return new Negotiator(p, offerFromPreset(p));
}

describe("Negotiator.reviewDemand", () => {
  const n = negotiator();
  const review = (body = demandBody(), active = 0, from = requestor.nodeId) =>
    n.reviewDemand(from, body, active, NOW);

  it("proposes to a matching demand", () => {
    expect(review()).toEqual({ ok: true });
  });

  it.each([
    ["too much memory", demandBody({ minMemGib: 64 }), /agora\.inf\.mem\.gib/],
    ["another runtime", demandBody({ runtime: "wasm" }), /agora\.runtime\.name/],
    ["another subnet", { ...demandBody(), subnet: "other" }, /serves subnet devnet, not other/],
    ["an expired demand", { ...demandBody(), expiresAt: NOW - 1 }, /expired/],
    [
      "too long",
      demandBody({ expiresAt: NOW + 7200_000 }),
      /duration too long: 7200 s asked, at most 3600 s/,
    ],
    [
      "a debit-note interval out of bounds",
      demandBody({ properties: { "agora.com.payment.debit-notes.interval-sec": 5 } }),
      /debit-note interval of 5 s is outside 10\.\.600 s/,
    ],
  ])("refuses %s with a reason", (_what, body, reason) => {
    const v = review(body);
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(reason);
  });

  it("refuses a demand that does not parse", () => {
    const v = review({ ...demandBody(), spec: { ...demandBody().spec, constraints: "(&(a=1)" } });
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(/does not parse: constraint parse error/);
  });

  it("refuses at capacity and denied requestors", () => {
    expect(review(demandBody(), 2)).toEqual({ ok: false, reason: "at capacity: 2 of 2 agreements in force" });
    const deny = negotiator({ denyRequestors: [requestor.nodeId] });
    expect(deny.reviewDemand(requestor.nodeId, demandBody(), 0, NOW)).toMatchObject({ reason: /deny list/ });
    const allow = negotiator({ allowRequestors: [provider.nodeId] });
    expect(allow.reviewDemand(requestor.nodeId, demandBody(), 0, NOW)).toMatchObject({
      reason: /allow list/,
    });
  });
});

describe("Negotiator.reviewAgreement", () => {
  const n = negotiator();
  const demand = demandBody();
  const made: MadeProposal = {
    proposalId: "p1",
    demandId: "d1",
    requestorId: requestor.nodeId,
    demand: demand.spec,
    offer: specBody(n.offer),
    expiresAt: NOW + 60_000,
  };
  function proposal(over: Partial<MessageBody<"AgreementProposal">> = {}, signer = requestor) {
    const doc = agreementDocument({
      agreementId: "a1",
      demandId: "d1",
      proposalId: "p1",
      requestorId: requestor.nodeId,
      providerId: provider.nodeId,
      demand: demand.spec,
      offer: specBody(n.offer),
      expiresAt: NOW + 600_000,
      ...over,
    });
    return {
      ...doc,
      requestorSignature: signAgreement(signer, doc),
      ...over,
    } as MessageBody<"AgreementProposal">;
  }
  const review = (body: MessageBody<"AgreementProposal">, m: MadeProposal | undefined = made, active = 0) =>
    n.reviewAgreement(requestor.nodeId, provider.nodeId, body, m, active, NOW);

  it("approves an agreement on its own proposal, signed by the requestor", () => {
    expect(review(proposal())).toEqual({ ok: true });
  });

  it.each([
    [
      "an offer never made",
      () =>
        n.reviewAgreement(
          requestor.nodeId,
          provider.nodeId,
          proposal({ proposalId: "p9" }),
          undefined,
          0,
          NOW,
        ),
      /unknown offer: no proposal p9/,
    ],
    [
      "a proposal made to another",
      () => review(proposal(), { ...made, requestorId: provider.nodeId }),
      /unknown offer/,
    ],
    ["an expired proposal", () => review(proposal(), { ...made, expiresAt: NOW }), /proposal p1 has expired/],
    [
      "another offer",
      () => review(proposal({ offer: specBody({ ...made.offer, constraints: "" }) })),
      /offer differs from the proposal made/,
    ],
    ["a forged signature", () => review(proposal({}, provider)), /signature does not match/],
    [
      "no signature",
      () => review({ ...proposal(), requestorSignature: undefined }),
      /not signed by the requestor/,
    ],
    ["too long", () => review(proposal({ expiresAt: NOW + 7200_000 })), /duration too long/],
    ["at capacity", () => review(proposal(), made, 2), /at capacity: 2 of 2/],
    ["another provider", () => review(proposal({ providerId: requestor.nodeId })), /names another provider/],
  ])("rejects %s with a reason", (_what, run, reason) => {
    const v = run();
    expect(v.ok).toBe(false);
    if (!v.ok) expect(v.reason).toMatch(reason);
  });
});
