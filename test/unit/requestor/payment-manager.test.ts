/**
 * The requestor's PaymentManager against hand-written providers on a MemoryBus: exact amounts,
 * the budget's edges (exact budget, reached mid-note, concurrent notes from several providers),
 * duplicates, a second invoice, notes from strangers, and the signed answers.
 */
import { randomUUID } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { BudgetExceededError } from "../../../src/errors.js";
import {
  OfferBuilder,
  specToWire,
  type SignedAgreement,
  type Termination,
} from "../../../src/market/index.js";
import {
  Allocation,
  debitNoteToWire,
  invoiceToWire,
  LinearPricing,
  money,
  paymentFromWire,
  paymentSubject,
  usage,
  type DebitNote,
  type Invoice,
} from "../../../src/payment/index.js";
import { NodeIdentity, type MessageBody } from "../../../src/protocol/index.js";
import { PaymentManager, type PaymentEvent } from "../../../src/requestor/index.js";
import { MemoryBus, SignedNode, type AnyInbound } from "../../../src/transport/index.js";

const PRICES = { start: "1", perDurationSec: "0.1", perCpuSec: "0.2" };
const pricing = new LinearPricing(PRICES);

interface World {
  bus: MemoryBus;
  requestor: SignedNode;
  manager: PaymentManager;
  allocation: Allocation;
  events: PaymentEvent[];
  terminations: { agreementId: string; termination: Termination }[];
}

let world: World | undefined;
const providers: SignedNode[] = [];
afterEach(async () => {
  for (const p of providers.splice(0)) p.close();
  await world?.manager.close();
  world?.requestor.close();
  await world?.bus.close();
  world = undefined;
});

async function setup(budget: string, holdAheadSec = 0): Promise<World> {
  const bus = new MemoryBus();
  const requestor = new SignedNode({ bus, identity: NodeIdentity.generate() });
  const allocation = new Allocation(budget);
  const terminations: World["terminations"] = [];
  const manager = await PaymentManager.create({
    node: requestor,
    allocation,
    terminate: (agreement, termination) => {
      terminations.push({ agreementId: agreement.agreementId, termination });
      return Promise.resolve();
    },
    holdAheadSec,
    paymentTimeoutMs: 1_000,
  });
  const events: PaymentEvent[] = [];
  manager.events$.subscribe((e) => events.push(e));
  world = { bus, requestor, manager, allocation, events, terminations };
  return world;
}

/** A hand-written provider: signs what the test tells it to send, records payments it receives. */
function provider(w: World, opts: { threads?: number; approvedAgoMs?: number } = {}) {
  const node = new SignedNode({ bus: w.bus, identity: NodeIdentity.generate() });
  providers.push(node);
  const payments: MessageBody<"Payment">[] = [];
  node.serve(paymentSubject(node.nodeId), (msg: AnyInbound) => {
    if (msg.envelope.type === "Payment") payments.push(msg.envelope.body);
    return { type: "Ack", body: {} };
  });
  const offer = new OfferBuilder()
    .nodeName("hand")
    .subnet("devnet")
    .resources({ cpuThreads: opts.threads ?? 2, memGib: 1, storageGib: 1 })
    .pricing(pricing)
    .debitNotes({ intervalSec: 10, acceptTimeoutSec: 30 })
    .build();
  const agreement: SignedAgreement = {
    agreementId: randomUUID(),
    demandId: randomUUID(),
    proposalId: randomUUID(),
    requestorId: w.requestor.nodeId,
    providerId: node.nodeId,
    demand: { properties: {}, constraints: "" },
    offer: specToWire(offer),
    expiresAt: Date.now() + 3_600_000,
    requestorSignature: "",
    providerSignature: "",
    approvedAt: Date.now() - (opts.approvedAgoMs ?? 3_600_000),
  };
  const activityId = randomUUID();
  let sequence = 0;
  return {
    node,
    agreement,
    payments,
    /** The honest note for this cumulative usage (or a tampered one). */
    note(durationSec: string, cpuSec: string, tamper: Partial<DebitNote> = {}): DebitNote {
      sequence += 1;
      const u = usage(durationSec, cpuSec);
      return {
        debitNoteId: randomUUID(),
        agreementId: agreement.agreementId,
        activityId,
        sequence,
        usage: u,
        totalAmount: pricing.cost(u),
        issuedAt: Date.now(),
        ...tamper,
      };
    },
    invoice(durationSec: string, cpuSec: string): Invoice {
      const u = usage(durationSec, cpuSec);
      const amount = pricing.cost(u);
      return {
        invoiceId: randomUUID(),
        agreementId: agreement.agreementId,
        items: [{ activityId, usage: u, amount }],
        amount,
        issuedAt: Date.now(),
      };
    },
    /** Send a note; resolves with the reply type and body (Rejection replies too). */
    async sendNote(n: DebitNote): Promise<{ type: string; body: Record<string, unknown> }> {
      return raw(node, w, { type: "DebitNote", body: debitNoteToWire(n) });
    },
    async sendInvoice(i: Invoice): Promise<{ type: string; body: Record<string, unknown> }> {
      return raw(node, w, { type: "Invoice", body: invoiceToWire(i) });
    },
  };
}

/** A request whose reply may be an Acceptance or a Rejection. */
async function raw(node: SignedNode, w: World, msg: { type: "DebitNote" | "Invoice"; body: object }) {
  const { frame } = node.seal(w.requestor.nodeId, msg as never);
  const data = await node.bus.request(paymentSubject(w.requestor.nodeId), frame, { timeoutMs: 2_000 });
  const reply = node.open(data, paymentSubject(w.requestor.nodeId));
  return { type: reply.envelope.type, body: reply.envelope.body as Record<string, unknown> };
}

async function until(check: () => boolean, ms = 3_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("PaymentManager", () => {
  it("accepts honest notes with signed acceptances, pays the invoice exactly, and records it", async () => {
    const w = await setup("100");
    const p = provider(w);
    w.manager.open(p.agreement);
    // 1 + 10 × 0.1 + 5 × 0.2 = 3
    const a1 = await p.sendNote(p.note("10", "5"));
    expect(a1).toMatchObject({ type: "Acceptance", body: { document: "DebitNote", acceptedAmount: "3" } });
    // 1 + 20 × 0.1 + 15 × 0.2 = 6
    expect(await p.sendNote(p.note("20", "15"))).toMatchObject({
      type: "Acceptance",
      body: { acceptedAmount: "6" },
    });
    expect(w.allocation.spent.equals(money("6"))).toBe(true);
    const inv = p.invoice("21", "15");
    expect(await p.sendInvoice(inv)).toMatchObject({ type: "Acceptance", body: { acceptedAmount: "6.1" } });
    // Recorded (fsync'ed) before the acceptance went out.
    expect(w.manager.ledger.index.invoice(inv.invoiceId)).toMatchObject({ amount: "6.1" });
    await until(() => p.payments.length === 1);
    const paid = paymentFromWire(p.payments[0]);
    expect(paid).toMatchObject({
      agreementId: p.agreement.agreementId,
      invoiceId: inv.invoiceId,
      payer: w.requestor.nodeId,
      payee: p.node.nodeId,
      driver: "ledger",
    });
    expect(paid.amount.toFixed()).toBe("6.1");
    expect(await w.manager.settle({ timeoutMs: 1_000 })).toEqual([]);
    expect(w.allocation.spent.toFixed()).toBe("6.1");
    expect(w.allocation.reserved.isZero()).toBe(true);
    expect(w.manager.ledger.index.paidTotal().toFixed()).toBe("6.1");
    expect(w.events.map((e) => e.type)).toEqual([
      "payment.debit_note_accepted",
      "payment.debit_note_accepted",
      "payment.invoice_received",
      "payment.sent",
    ]);
  });

  it("answers a duplicate note and a duplicate invoice the same way, once; refuses a second invoice", async () => {
    const w = await setup("100");
    const p = provider(w);
    w.manager.open(p.agreement);
    const n = p.note("10", "5");
    expect((await p.sendNote(n)).type).toBe("Acceptance");
    expect((await p.sendNote(n)).type).toBe("Acceptance");
    expect(w.allocation.spent.toFixed()).toBe("3");
    const inv = p.invoice("10", "5");
    expect((await p.sendInvoice(inv)).type).toBe("Acceptance");
    expect((await p.sendInvoice(inv)).type).toBe("Acceptance");
    const second = await p.sendInvoice(p.invoice("12", "5"));
    expect(second).toMatchObject({ type: "Rejection", body: { document: "Invoice" } });
    expect(second.body.reason).toMatch(/already has invoice/);
    await until(() => p.payments.length === 1);
    await w.manager.settle({ timeoutMs: 1_000 });
    expect(p.payments).toHaveLength(1);
    expect(w.allocation.spent.toFixed()).toBe("3");
    expect(w.events.filter((e) => e.type === "payment.debit_note_accepted")).toHaveLength(1);
  });

  it("rejects an inflated note, a price above the agreed one and impossible usage, and terminates (DebitNoteRejected)", async () => {
    const w = await setup("100");
    const inflated = provider(w);
    const impossible = provider(w, { approvedAgoMs: 2_000, threads: 1 });
    w.manager.open(inflated.agreement);
    w.manager.open(impossible.agreement);
    const r1 = await inflated.sendNote(inflated.note("10", "5", { totalAmount: money("4") }));
    expect(r1.type).toBe("Rejection");
    expect(r1.body.reason).toMatch(/amount 4 is not the agreed price 3 of the usage/);
    const r2 = await impossible.sendNote(impossible.note("100", "0"));
    expect(r2.type).toBe("Rejection");
    expect(r2.body.reason).toMatch(/duration 100 s exceeds the .* s elapsed since the agreement/);
    expect(w.terminations.map((t) => [t.agreementId, t.termination.reason])).toEqual([
      [inflated.agreement.agreementId, "DebitNoteRejected"],
      [impossible.agreement.agreementId, "DebitNoteRejected"],
    ]);
    expect(w.allocation.spent.isZero()).toBe(true);
    expect(w.manager.exceeded).toBe(false);
    // Its invoice over the agreed price is refused too: nothing is paid.
    const inv = inflated.invoice("10", "5");
    const r3 = await inflated.sendInvoice({
      ...inv,
      amount: money("9"),
      items: [{ ...inv.items[0]!, amount: money("9") }],
    });
    expect(r3.type).toBe("Rejection");
    await w.manager.settle({ timeoutMs: 500 });
    expect(inflated.payments).toEqual([]);
    expect(w.manager.ledger.index.records).toEqual([]);
  });

  it("answers notes only for agreements it holds, from their provider", async () => {
    const w = await setup("100");
    const p = provider(w);
    const stranger = provider(w);
    w.manager.open(p.agreement);
    const forged = { ...p.note("1", "1") };
    const reply = await raw(stranger.node, w, { type: "DebitNote", body: debitNoteToWire(forged) });
    expect(reply.type).toBe("Error");
    expect(reply.body.message).toMatch(/no agreement .* with you/);
    expect(w.allocation.spent.isZero()).toBe(true);
  });

  it("spends the exact budget, and not a unit more", async () => {
    const w = await setup("3");
    const p = provider(w);
    w.manager.open(p.agreement); // holds the start price (1), nothing ahead
    expect((await p.sendNote(p.note("10", "5"))).type).toBe("Acceptance"); // 3: the whole budget
    expect(w.allocation.spent.toFixed()).toBe("3");
    expect(w.allocation.remaining.isZero()).toBe(true);
    const over = await p.sendNote(p.note("10.1", "5"));
    expect(over.type).toBe("Rejection");
    expect(over.body.reason).toMatch(/would exceed the budget: it adds 0\.01, only 0 remains/);
    expect(w.manager.exceeded).toBe(true);
    expect(w.manager.signal.reason).toBeInstanceOf(BudgetExceededError);
    expect(w.events.at(-1)).toEqual({ type: "budget.exceeded", needed: "0", remaining: "0" });
    expect(w.terminations.map((t) => t.termination.reason)).toEqual(["Cancelled"]);
    expect(w.terminations[0]!.termination.message).toMatch(/budget exhausted: 3 of 3 spent/);
    // The invoice for what was accepted is paid; one for more is not.
    expect((await p.sendInvoice(p.invoice("10", "5"))).type).toBe("Acceptance");
    await w.manager.settle({ timeoutMs: 1_000 });
    expect(w.manager.ledger.index.paidTotal().toFixed()).toBe("3");
    expect(w.allocation.spent.lte(w.allocation.total)).toBe(true);
  });

  it("budget reached mid-note: a note crossing it is rejected whole, nothing partial is committed", async () => {
    const w = await setup("5");
    const p = provider(w);
    w.manager.open(p.agreement);
    expect((await p.sendNote(p.note("10", "5"))).type).toBe("Acceptance"); // 3
    const crossing = await p.sendNote(p.note("20", "15")); // 6 > 5
    expect(crossing.type).toBe("Rejection");
    expect(w.allocation.spent.toFixed()).toBe("3");
    expect(w.manager.exceeded).toBe(true);
    expect(w.manager.summary().accepted.toFixed()).toBe("3");
  });

  it("holds the next slice ahead: when the budget cannot, it stops new work before the money runs out", async () => {
    // Ahead: 10 s × (0.1 + 0.2 × 2 threads) = 5; the first hold is start 1 + 5 = 6.
    const w = await setup("12", 10);
    const p = provider(w);
    expect(w.manager.holdFor(p.agreement.offer.properties).toFixed()).toBe("6");
    expect(w.manager.canAfford(p.agreement.offer.properties)).toBe(true);
    w.manager.open(p.agreement);
    expect((await p.sendNote(p.note("10", "5"))).type).toBe("Acceptance"); // spent 3, holds 5 ahead: 8
    expect(w.manager.exceeded).toBe(false);
    expect((await p.sendNote(p.note("20", "15"))).type).toBe("Acceptance"); // spent 6, needs 5 ahead: 11
    expect(w.manager.exceeded).toBe(false);
    expect((await p.sendNote(p.note("30", "20"))).type).toBe("Acceptance"); // spent 8, 4 left < 5
    expect(w.manager.exceeded).toBe(true);
    expect(w.manager.canAfford(p.agreement.offer.properties)).toBe(false);
    expect(w.terminations.map((t) => t.termination.reason)).toEqual(["Cancelled"]);
    expect(() => w.manager.open(provider(w).agreement)).toThrow(BudgetExceededError);
    // The final invoice still fits in what is held.
    expect((await p.sendInvoice(p.invoice("32", "21"))).type).toBe("Acceptance"); // 1 + 3.2 + 4.2 = 8.4
    await w.manager.settle({ timeoutMs: 1_000 });
    expect(w.allocation.spent.toFixed()).toBe("8.4");
  });

  it("concurrent notes from several providers never spend beyond the budget", async () => {
    const w = await setup("20");
    const ps = Array.from({ length: 8 }, () => provider(w));
    for (const p of ps) w.manager.open(p.agreement); // 8 × start 1 held
    // Each note asks 3; together 24 > 20: some must be refused, all at once.
    const replies = await Promise.all(ps.map((p) => p.sendNote(p.note("10", "5"))));
    const accepted = replies.filter((r) => r.type === "Acceptance").length;
    expect(accepted).toBe(6);
    expect(w.allocation.spent.toFixed()).toBe("18");
    expect(w.allocation.spent.plus(w.allocation.reserved).lte(w.allocation.total)).toBe(true);
    expect(w.manager.exceeded).toBe(true);
  });

  it("refuses to open an agreement the budget cannot hold; with none open, the budget is exceeded", async () => {
    const w = await setup("0.5");
    const p = provider(w);
    expect(w.manager.canAfford(p.agreement.offer.properties)).toBe(false); // start 1 > 0.5, nothing open
    expect(w.manager.exceeded).toBe(true);
    expect(() => w.manager.open(p.agreement)).toThrow(BudgetExceededError);
    expect(w.events).toEqual([{ type: "budget.exceeded", needed: "1", remaining: "0.5" }]);
    // The cancelled agreement's empty invoice is still answered (and settled), for nothing.
    const empty = { ...p.invoice("0", "0"), items: [], amount: money("0") };
    expect((await p.sendInvoice(empty)).type).toBe("Acceptance");
    expect(await w.manager.settle({ timeoutMs: 1_000 })).toEqual([]);
    expect(w.allocation.spent.isZero()).toBe(true);
    expect(w.terminations).toEqual([]); // the caller cancels it, not the manager
  });
});
