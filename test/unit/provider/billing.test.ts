/** Provider billing against a requestor's PaymentManager on a MemoryBus (fake usage, no Docker). */
import { afterEach, describe, expect, it } from "vitest";
import { randomUUID } from "node:crypto";
import { money, parseAmount, paymentSubject } from "../../../src/payment/index.js";
import { NodeIdentity } from "../../../src/protocol/index.js";
import { SignedNode } from "../../../src/transport/index.js";
import { billingSetup, endAgreement, runActivity, until, type BillingSetup } from "./billing-fixture.js";

let setup: BillingSetup | undefined;
afterEach(async () => {
  await setup?.close();
  setup = undefined;
});

describe("BillingService", () => {
  it("sends running totals, invoices the final usage once, and both ledgers record the exact payment", async () => {
    setup = await billingSetup();
    const side = await setup.addProvider();
    const container = runActivity(side, 10, 4);
    await until(() => setup!.events.some((e) => e.type === "payment.debit_note_accepted"));
    // start 0.5 + 10 s × 0.01 + 4 s × 0.02 = 0.68
    expect(setup.events.find((e) => e.type === "payment.debit_note_accepted")).toMatchObject({
      agreementId: side.agreement.agreementId,
      providerId: side.providerId,
      amount: "0.68",
    });
    side.usage.set(container, { durationSec: 20, cpuSec: 10 });
    await endAgreement(side);
    await until(() => setup!.events.some((e) => e.type === "payment.sent"));
    // 0.5 + 0.2 + 0.2 = 0.9
    expect(setup.events.filter((e) => e.type === "payment.invoice_received")).toEqual([
      {
        type: "payment.invoice_received",
        agreementId: side.agreement.agreementId,
        providerId: side.providerId,
        amount: "0.9",
      },
    ]);
    expect(setup.events.find((e) => e.type === "payment.sent")).toMatchObject({ amount: "0.9" });
    await side.billing.drain();
    const r = setup.manager!.ledger.index;
    const p = side.providerLedger.index;
    expect(r.paidTotal().toFixed()).toBe("0.9");
    expect(p.paidTotal().toFixed()).toBe("0.9");
    expect(r.invoicedTotal().equals(r.paidTotal())).toBe(true);
    expect(p.records).toEqual(r.records);
    expect(setup.allocation.spent.equals(money("0.9"))).toBe(true);
    expect(side.providerTerminations).toEqual([{ reason: "Success", message: "ended" }]);
    const summary = setup.manager!.summary();
    expect(summary.paid.toFixed()).toBe("0.9");
    expect(summary.ledgerPath).toBeUndefined();
    expect(summary.providers).toEqual([
      { providerId: side.providerId, agreements: 1, accepted: parseAmount("0.9"), paid: parseAmount("0.9") },
    ]);
  });

  it("terminates with DebitNoteRejected when a note is inflated, and the inflated invoice is not paid", async () => {
    setup = await billingSetup({
      tamper: {
        debitNote: (n) => ({ ...n, totalAmount: n.totalAmount.times(2) }),
        invoice: (i) => ({
          ...i,
          amount: i.amount.plus("1"),
          items: i.items.map((x, k) => (k === 0 ? { ...x, amount: x.amount.plus("1") } : x)),
        }),
      },
    });
    const side = await setup.addProvider();
    runActivity(side, 10, 4);
    await until(() => side.providerTerminations.length > 0);
    expect(side.providerTerminations[0]!.reason).toBe("DebitNoteRejected");
    expect(side.providerTerminations[0]!.message).toMatch(/is not the agreed price 0\.68 of the usage/);
    expect(setup.events.find((e) => e.type === "payment.debit_note_rejected")).toMatchObject({
      amount: "1.36",
    });
    await until(() => setup!.events.some((e) => e.type === "payment.invoice_rejected"));
    await side.billing.drain();
    expect(setup.events.some((e) => e.type === "payment.sent")).toBe(false);
    expect(setup.manager!.ledger.index.records).toEqual([]);
    expect(side.providerLedger.index.records).toEqual([]);
    expect(setup.allocation.spent.isZero()).toBe(true);
  });

  it("rejects impossible usage: more CPU than elapsed × threads", async () => {
    setup = await billingSetup({ approvedAgoMs: 1_000, threads: 2 });
    const side = await setup.addProvider();
    runActivity(side, 1, 100);
    await until(() => side.providerTerminations.length > 0);
    expect(side.providerTerminations[0]!.reason).toBe("DebitNoteRejected");
    expect(side.providerTerminations[0]!.message).toMatch(/CPU time 100 s exceeds .* × 2 threads/);
    await until(() => setup!.events.some((e) => e.type === "payment.invoice_rejected"));
    expect(setup.manager!.ledger.index.records).toEqual([]);
  });

  it("terminates with DebitNotesDeadline when the requestor never answers", async () => {
    setup = await billingSetup({ requestor: "silent", acceptSec: 0.3 });
    const side = await setup.addProvider();
    runActivity(side, 1, 1);
    const started = Date.now();
    await until(() => side.providerTerminations.length > 0);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(side.providerTerminations[0]).toEqual({
      reason: "DebitNotesDeadline",
      message: expect.stringMatching(
        /^debit note 1 of activity .* was not accepted within 0\.3 s$/,
      ) as string,
    });
    expect(side.activities).toEqual([]); // the work stopped
  });

  it("terminates with DebitNotesDeadline when nobody listens (retried until the deadline)", async () => {
    setup = await billingSetup({ requestor: "absent", acceptSec: 0.4 });
    const side = await setup.addProvider();
    runActivity(side, 1, 1);
    await until(() => side.providerTerminations.length > 0);
    expect(side.providerTerminations[0]!.reason).toBe("DebitNotesDeadline");
  });

  it("checks payments: one that does not settle the invoice, or from a stranger, is refused and not recorded", async () => {
    setup = await billingSetup();
    const side = await setup.addProvider();
    runActivity(side, 10, 4);
    await endAgreement(side);
    await until(() => setup!.events.some((e) => e.type === "payment.sent"));
    await side.billing.drain();
    const [invoiceRec, paymentRec] = side.providerLedger.index.records;
    expect(invoiceRec).toMatchObject({ kind: "invoice", amount: "0.68" });
    const { kind: _kind, ...paid } = paymentRec as Extract<typeof paymentRec, { kind: "payment" }>;
    const ask = (node: SignedNode, body: typeof paid) =>
      node
        .request(
          paymentSubject(side.providerId),
          side.providerId,
          { type: "Payment", body },
          { timeoutMs: 1_000, expect: "Ack" },
        )
        .then(
          () => "acked",
          (err: unknown) => (err as Error).message,
        );
    // The same payment again: idempotent.
    expect(await ask(setup.requestor, paid)).toBe("acked");
    // Another payment of the same invoice for less: refused.
    expect(await ask(setup.requestor, { ...paid, paymentId: randomUUID(), amount: "0.01" })).toMatch(
      /does not settle invoice .*: amount 0\.01, expected 0\.68/,
    );
    const stranger = new SignedNode({ bus: setup.bus, identity: NodeIdentity.generate() });
    expect(await ask(stranger, { ...paid, paymentId: randomUUID() })).toMatch(/no agreement .* with you/);
    stranger.close();
    expect(side.providerLedger.index.records).toHaveLength(2);
  });

  it("invoices an agreement with no activity for 0 and it is paid", async () => {
    setup = await billingSetup();
    const side = await setup.addProvider();
    await endAgreement(side);
    await until(() => setup!.events.some((e) => e.type === "payment.sent"));
    expect(setup.events.find((e) => e.type === "payment.sent")).toMatchObject({ amount: "0" });
    await side.billing.drain();
    expect(side.providerLedger.index.paidTotal().isZero()).toBe(true);
    expect(side.providerLedger.index.records).toHaveLength(2);
  });
});
