import { describe, expect, it } from "vitest";
import { NodeIdentity, isMessageType, messageSchemas } from "../../../src/protocol/index.js";
import type { MessageBody, MessageType } from "../../../src/protocol/index.js";
import { debitNoteWireSchema, invoiceWireSchema, paymentWireSchema } from "../../../src/payment/index.js";

const node = NodeIdentity.generate().nodeId;
const sig = "A".repeat(86);
const usage = { "agora.usage.duration_sec": "12", "agora.usage.cpu_sec": "3.5" };
const spec = {
  properties: {
    "agora.inf.mem.gib": 0.5,
    "agora.runtime.name": "docker",
    "agora.com.usage.vector": ["a", "b"],
  },
  constraints: "(&(a>=1))",
};

/** One valid body per message type: every family of DESIGN §4 is covered. */
const samples: { [K in MessageType]: MessageBody<K> } = {
  Demand: { demandId: "d1", subnet: "devnet", spec, expiresAt: 1 },
  Proposal: { proposalId: "p1", demandId: "d1", spec, expiresAt: 1 },
  DemandRejected: { demandId: "d1", reason: "at capacity" },
  OfferAnnouncement: { subnet: "devnet", spec, expiresAt: 1 },
  AgreementProposal: {
    agreementId: "a1",
    demandId: "d1",
    proposalId: "p1",
    requestorId: node,
    providerId: node,
    demand: spec,
    offer: spec,
    expiresAt: 1,
    requestorSignature: sig,
  },
  AgreementApproved: { agreementId: "a1", approvedAt: 1, providerSignature: sig },
  AgreementRejected: { agreementId: "a1", reason: "busy" },
  AgreementTerminated: { agreementId: "a1", reason: "Success" },
  ActivityCreate: { agreementId: "a1", activityId: "act1" },
  ActivityExec: {
    activityId: "act1",
    batchId: "b1",
    commands: [
      { kind: "deploy" },
      { kind: "start" },
      {
        kind: "transfer",
        from: "stream:s1",
        to: "container:/golem/work/in.txt",
        stream: { streamId: "s1", size: 3, chunkSize: 524_288 },
      },
      { kind: "transfer", from: "container:/golem/output/out.txt", to: "stream:" },
      { kind: "run", entryPoint: "/bin/sh", args: ["-c", "echo hi"] },
      { kind: "terminate" },
    ],
    timeoutMs: 120_000,
  },
  ActivityCancel: { activityId: "act1", batchId: "b1" },
  ActivityDestroy: { activityId: "act1" },
  ActivityState: { activityId: "act1", state: "Ready" },
  BatchEvent: { activityId: "act1", batchId: "b1", index: 3, event: { kind: "finished", exitCode: 0 } },
  DebitNote: {
    debitNoteId: "n1",
    agreementId: "a1",
    activityId: "act1",
    sequence: 1,
    totalAmount: "0.0123",
    usage,
    issuedAt: 1,
  },
  Invoice: {
    invoiceId: "i1",
    agreementId: "a1",
    items: [{ activityId: "act1", usage, amount: "1.5" }],
    amount: "1.5",
    issuedAt: 1,
    paymentDueAt: 2,
  },
  Acceptance: { document: "Invoice", documentId: "i1", agreementId: "a1", acceptedAmount: "1.5" },
  Rejection: { document: "DebitNote", documentId: "n1", agreementId: "a1", reason: "above the agreed price" },
  Payment: {
    paymentId: "pay1",
    agreementId: "a1",
    invoiceId: "i1",
    amount: "1.5",
    payer: node,
    payee: node,
    driver: "ledger",
    paidAt: 1,
  },
  StreamOffer: { streamId: "s1", size: 10, chunkSize: 524_288 },
  StreamPull: { streamId: "s1", seq: 0 },
  StreamChunk: { streamId: "s1", seq: 0, offset: 0, size: 10, last: true, sha256: "a".repeat(64) },
  ImageGet: { hash: `sha256:${"0".repeat(64)}` },
  Ack: {},
  Error: { code: "MARKET_ERROR", message: "no" },
};

describe("message schemas", () => {
  it.each(Object.entries(samples))("accept a valid %s", (type, body) => {
    expect(isMessageType(type)).toBe(true);
    expect(messageSchemas[type as MessageType].parse(body)).toEqual(body);
  });

  it("know exactly the sampled types", () => {
    expect(Object.keys(messageSchemas).sort()).toEqual(Object.keys(samples).sort());
    expect(isMessageType("toString")).toBe(false);
    expect(isMessageType("Teleport")).toBe(false);
  });

  it("refuse malformed bodies", () => {
    const bad: [MessageType, unknown][] = [
      ["DebitNote", { ...samples.DebitNote, totalAmount: "-1" }],
      ["DebitNote", { ...samples.DebitNote, totalAmount: 0.5 }],
      ["Payment", { ...samples.Payment, payer: "someone" }],
      ["DebitNote", { ...samples.DebitNote, sequence: 0 }],
      ["DebitNote", { ...samples.DebitNote, usage: [12, 3.5] }],
      ["Invoice", { ...samples.Invoice, items: undefined }],
      ["AgreementTerminated", { agreementId: "a1", reason: "Bored" }],
      ["ActivityExec", { ...samples.ActivityExec, commands: [] }],
      ["ActivityExec", { ...samples.ActivityExec, commands: [{ kind: "format-disk" }] }],
      ["StreamChunk", { ...samples.StreamChunk, size: 512 * 1024 + 1 }],
      ["StreamOffer", { ...samples.StreamOffer, chunkSize: 0 }],
      ["ImageGet", { hash: "md5:abc" }],
      ["Demand", { ...samples.Demand, demandId: "has space" }],
      ["Demand", { ...samples.Demand, spec: { ...spec, constraints: "x".repeat(16 * 1024 + 1) } }],
      ["BatchEvent", { ...samples.BatchEvent, event: { kind: "stdout", data: "x".repeat(64 * 1024 + 1) } }],
      ["BatchEvent", { ...samples.BatchEvent, event: { kind: "done" } }],
      ["AgreementProposal", { ...samples.AgreementProposal, requestorSignature: "x".repeat(86) + "=" }],
      ["AgreementApproved", { ...samples.AgreementApproved, providerSignature: "short" }],
      ["OfferAnnouncement", { ...samples.OfferAnnouncement, subnet: "" }],
    ];
    for (const [type, body] of bad)
      expect(
        messageSchemas[type].safeParse(body).success,
        `${type} ${JSON.stringify(body).slice(0, 80)}`,
      ).toBe(false);
  });

  it("carry payment/'s wire shapes exactly (payment-only fields aside)", () => {
    const { paymentDueAt: _due, ...invoice } = samples.Invoice;
    expect(debitNoteWireSchema.parse(samples.DebitNote)).toEqual(samples.DebitNote);
    expect(invoiceWireSchema.parse(invoice)).toEqual(invoice);
    expect(paymentWireSchema.parse(samples.Payment)).toEqual(samples.Payment);
    const wire = debitNoteWireSchema.parse(samples.DebitNote);
    expect(messageSchemas.DebitNote.parse(wire)).toEqual(wire);
  });
});
