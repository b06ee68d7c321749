import { describe, expect, it } from "vitest";
import {
  agreementDocument,
  canonicalSpec,
  checkSignedAgreement,
  signAgreement,
  specBody,
  verifyAgreementSignature,
  type AgreementDocument,
} from "../../../src/market/index.js";
import { NodeIdentity } from "../../../src/protocol/index.js";
import { offer } from "./fixtures.js";

const requestor = NodeIdentity.generate();
const provider = NodeIdentity.generate();
const spec = specBody(offer("p", { start: "0", perDurationSec: "0.001", perCpuSec: "0.002" }));
const doc: AgreementDocument = {
  agreementId: "a1",
  demandId: "d1",
  proposalId: "p1",
  requestorId: requestor.nodeId,
  providerId: provider.nodeId,
  demand: { properties: { "agora.node.subnet": "devnet" }, constraints: "(agora.node.subnet=devnet)" },
  offer: spec,
  expiresAt: 1_700_000_600_000,
};

describe("signed agreements", () => {
  const signed = {
    ...doc,
    requestorSignature: signAgreement(requestor, doc),
    providerSignature: signAgreement(provider, doc),
    approvedAt: 1,
  };

  it("verify when both sides signed the same terms", () => {
    expect(checkSignedAgreement(signed)).toBeUndefined();
    expect(verifyAgreementSignature(signed, provider.nodeId, signed.providerSignature)).toBe(true);
  });

  it.each([
    ["the expiration", { expiresAt: doc.expiresAt + 1 }],
    [
      "a price",
      {
        offer: {
          ...spec,
          properties: { ...spec.properties, "agora.com.pricing.model.linear.coeffs": ["0", "0", "0"] },
        },
      },
    ],
    ["the provider", { providerId: requestor.nodeId }],
    ["the demand's constraints", { demand: { ...doc.demand, constraints: "" } }],
  ])("fail when %s changes", (_what, change) => {
    expect(checkSignedAgreement({ ...signed, ...change })).toMatch(/signature does not match the terms/);
  });

  it("name which side's signature is bad", () => {
    expect(checkSignedAgreement({ ...signed, providerSignature: signAgreement(requestor, doc) })).toBe(
      "the provider's signature does not match the terms",
    );
    expect(checkSignedAgreement({ ...signed, requestorSignature: "A".repeat(86) })).toBe(
      "the requestor's signature does not match the terms",
    );
  });

  it("sign the terms only: extra body fields and key order do not matter", () => {
    const reordered = JSON.parse(JSON.stringify({ extra: 1, ...doc })) as AgreementDocument;
    expect(agreementDocument(reordered)).toEqual(doc);
    expect(verifyAgreementSignature(reordered, requestor.nodeId, signed.requestorSignature)).toBe(true);
    expect(canonicalSpec({ constraints: "x", properties: { b: 1, a: 2 } })).toBe(
      canonicalSpec({ properties: { a: 2, b: 1 }, constraints: "x" }),
    );
  });
});
