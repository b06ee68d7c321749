import { describe, expect, it } from "vitest";
import { RenderTally } from "../../../../examples/render/render-tally.js";

describe("RenderTally", () => {
  it("counts frames and estimates the time left from the rate so far", () => {
    const t = new RenderTally(4);
    expect(t.etaMs(0)).toBeUndefined();
    t.add({ type: "task.started", taskId: "a", providerId: "p", attempt: 1 }, 1_000);
    t.add({ type: "task.started", taskId: "b", providerId: "p", attempt: 1 }, 2_000);
    t.add({ type: "task.accepted", taskId: "a", providerId: "p", runningTimeMs: 900 }, 3_000);
    expect(t.etaMs(3_000)).toBe(6_000); // 2 s a frame, 3 frames left
    t.add({ type: "task.retried", taskId: "b", providerId: "p", attempt: 1, reason: "bad PNG" });
    t.add({ type: "task.rejected", taskId: "b", providerId: "p", reason: "bad PNG" });
    expect([t.accepted, t.rejected, t.retried, t.finished]).toEqual([1, 1, 1, false]);
    t.add({ type: "task.accepted", taskId: "c", providerId: "q", runningTimeMs: 1 });
    t.add({ type: "task.accepted", taskId: "d", providerId: "q", runningTimeMs: 1 });
    expect(t.finished).toBe(true);
  });

  it("spent: per agreement the last debit note, or the payment when it is larger", () => {
    const t = new RenderTally(1);
    t.add({ type: "agreement.created", agreementId: "A", providerId: "p", providerName: "alice" });
    t.add({ type: "agreement.created", agreementId: "B", providerId: "q", providerName: "bob" });
    t.add({ type: "payment.debit_note_accepted", agreementId: "A", providerId: "p", amount: "0.01" });
    t.add({ type: "payment.debit_note_accepted", agreementId: "A", providerId: "p", amount: "0.03" });
    t.add({ type: "payment.debit_note_accepted", agreementId: "B", providerId: "q", amount: "0.1" });
    expect(t.spent.toString()).toBe("0.13");
    t.add({ type: "payment.sent", agreementId: "A", providerId: "p", amount: "0.035" });
    expect(t.spent.toString()).toBe("0.135");
    t.add({ type: "budget.exceeded", needed: "0.2", remaining: "0.1" });
    expect(t.toJSON()).toMatchObject({
      spent: "0.135",
      budgetExceeded: true,
      agreements: [
        { agreementId: "A", providerName: "alice", debitNotes: "0.03", paid: "0.035" },
        { agreementId: "B", providerName: "bob", debitNotes: "0.1", paid: "0" },
      ],
    });
  });

  it("per agreement: the invoice, the payment, or why either failed", () => {
    const t = new RenderTally(1);
    t.add({ type: "agreement.created", agreementId: "A", providerId: "p", providerName: "alice" });
    t.add({ type: "payment.invoice_received", agreementId: "A", providerId: "p", amount: "0.0021" });
    t.add({ type: "payment.sent", agreementId: "A", providerId: "p", amount: "0.0021" });
    t.add({ type: "payment.invoice_received", agreementId: "B", providerId: "q", amount: "5" });
    t.add({
      type: "payment.invoice_rejected",
      agreementId: "B",
      providerId: "q",
      amount: "5",
      reason: "over budget",
    });
    expect(t.toJSON()).toMatchObject({
      spent: "0.0021", // a refused invoice is not spent
      agreements: [
        { agreementId: "A", invoiced: "0.0021", paid: "0.0021", problem: undefined },
        { agreementId: "B", invoiced: "5", paid: "0", problem: "payment.invoice_rejected: over budget" },
      ],
    });
  });
});
