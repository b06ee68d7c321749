/** Delivering a billed document: answers, retries, the deadline on the node's (manual) clock, abort. */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { paymentSubject } from "../../../src/payment/index.js";
import { deliverDocument } from "../../../src/provider/billing-delivery.js";
import { ManualClock, NodeIdentity, type MessageBody } from "../../../src/protocol/index.js";
import { MemoryBus, SignedNode, type AnyOutgoing } from "../../../src/transport/index.js";

let bus: MemoryBus;
let clock: ManualClock;
let provider: SignedNode;
let requestor: SignedNode;
afterEach(async () => {
  provider?.close();
  requestor?.close();
  await bus?.close();
});

function nodes(): void {
  bus = new MemoryBus();
  clock = new ManualClock(Date.now());
  provider = new SignedNode({ bus, identity: NodeIdentity.generate(), clock });
  requestor = new SignedNode({ bus, identity: NodeIdentity.generate(), clock });
}

function note(): { id: string; message: Extract<AnyOutgoing, { type: "DebitNote" }> } {
  const id = randomUUID();
  const body: MessageBody<"DebitNote"> = {
    debitNoteId: id,
    agreementId: randomUUID(),
    activityId: randomUUID(),
    sequence: 1,
    usage: { "agora.usage.duration_sec": "1", "agora.usage.cpu_sec": "0" },
    totalAmount: "0.1",
    issuedAt: clock.now(),
  };
  return { id, message: { type: "DebitNote", body } };
}

const deliver = (id: string, message: Extract<AnyOutgoing, { type: "DebitNote" }>, extra = {}) =>
  deliverDocument({
    node: provider,
    to: requestor.nodeId,
    message,
    documentId: id,
    deadline: clock.now() + 10_000,
    signal: new AbortController().signal,
    retryMs: 5,
    ...extra,
  });

describe("deliverDocument", () => {
  it("returns the requestor's acceptance, or its rejection with the reason", async () => {
    nodes();
    let answer: "accept" | "reject" = "accept";
    requestor.serve(paymentSubject(requestor.nodeId), (msg) => {
      if (msg.envelope.type !== "DebitNote") return undefined;
      const b = msg.envelope.body;
      const ids = { document: "DebitNote" as const, documentId: b.debitNoteId, agreementId: b.agreementId };
      return answer === "accept"
        ? { type: "Acceptance", body: { ...ids, acceptedAmount: b.totalAmount } }
        : { type: "Rejection", body: { ...ids, reason: "too dear" } };
    });
    const n1 = note();
    expect(await deliver(n1.id, n1.message)).toEqual({ kind: "accepted", acceptedAmount: "0.1" });
    answer = "reject";
    const n2 = note();
    expect(await deliver(n2.id, n2.message)).toEqual({ kind: "rejected", reason: "too dear" });
  });

  it("sends the same note again until the requestor answers (it was unreachable at first)", async () => {
    nodes();
    const n = note();
    const pending = deliver(n.id, n.message);
    await new Promise((r) => setTimeout(r, 30)); // a few "no responders" first
    let seen = 0;
    requestor.serve(paymentSubject(requestor.nodeId), (msg) => {
      if (msg.envelope.type !== "DebitNote") return undefined;
      seen++;
      const b = msg.envelope.body;
      return {
        type: "Acceptance",
        body: {
          document: "DebitNote",
          documentId: b.debitNoteId,
          agreementId: b.agreementId,
          acceptedAmount: "0.1",
        },
      };
    });
    expect(await pending).toMatchObject({ kind: "accepted" });
    expect(seen).toBe(1);
  });

  it("gives up at the deadline of the node's clock, and after maxUnreachable when asked to", async () => {
    nodes();
    const n = note();
    const pending = deliver(n.id, n.message);
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(10_001); // past the deadline: the next attempt does not happen
    expect(await pending).toMatchObject({
      kind: "deadline",
      lastError: expect.stringMatching(/no responders/) as string,
    });
    expect(await deliver(n.id, n.message, { maxUnreachable: 2 })).toEqual({ kind: "unreachable" });
  });

  it("stops at once when aborted", async () => {
    nodes();
    const n = note();
    const ctl = new AbortController();
    const pending = deliver(n.id, n.message, { signal: ctl.signal, retryMs: 60_000 });
    await new Promise((r) => setTimeout(r, 10));
    ctl.abort();
    expect(await pending).toEqual({ kind: "aborted" });
  });
});
