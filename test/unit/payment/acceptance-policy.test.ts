import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { AcceptancePolicy } from "../../../src/payment/acceptance-policy.js";
import { Allocation } from "../../../src/payment/allocation.js";
import { AgreementBilling } from "../../../src/payment/billing.js";
import { formatAmount } from "../../../src/payment/money.js";
import { LinearPricing } from "../../../src/payment/pricing.js";
import { usage } from "../../../src/payment/usage.js";

const pricing = new LinearPricing({ start: "0.1", perDurationSec: "0.001", perCpuSec: "0.002" });
const T0 = 1_700_000_000_000;

function setup(budget: string, agreementId = "ag", now = () => T0 + 1_000_000) {
  const allocation = new Allocation(budget);
  const policy = new AcceptancePolicy({
    terms: { agreementId, pricing, threads: 4, approvedAt: T0 },
    reservation: allocation.reserve("0", { owner: `agreement ${agreementId}`, agreementId }),
    now,
  });
  const billing = new AgreementBilling({ agreementId, pricing });
  return { allocation, policy, billing };
}

const result = (d: { accept: true; due: { toFixed(): string } } | { accept: false; reason: string }) =>
  d.accept ? `accept ${d.due.toFixed()}` : `reject: ${d.reason}`;

describe("AcceptancePolicy", () => {
  it("accepts a series of honest notes and commits exactly their total", () => {
    const { allocation, policy, billing } = setup("10");
    expect(result(policy.reviewDebitNote(billing.debitNote("act", usage("60", "100"))))).toBe("accept 0.36");
    expect(result(policy.reviewDebitNote(billing.debitNote("act", usage("120", "300"))))).toBe("accept 0.46");
    expect(formatAmount(policy.acceptedTotal)).toBe("0.82"); // 0.1 + 0.12 + 0.6
    expect(formatAmount(allocation.spent)).toBe("0.82");
  });

  it("treats a duplicate note as idempotent: same decision, nothing committed twice", () => {
    const { allocation, policy, billing } = setup("10");
    const n = billing.debitNote("act", usage("60", "100"));
    expect(policy.reviewDebitNote(n)).toEqual(policy.reviewDebitNote(n));
    expect(formatAmount(allocation.spent)).toBe("0.36");
    expect(result(policy.reviewDebitNote({ ...n, sequence: 7 }))).toBe(
      `reject: debit note ${n.debitNoteId} was already received with different contents`,
    );
  });

  it("stops at the budget mid-note: the note that would cross it is rejected, the total stays within", () => {
    const { allocation, policy, billing } = setup("0.5");
    expect(result(policy.reviewDebitNote(billing.debitNote("act", usage("60", "100"))))).toBe("accept 0.36");
    const over = billing.debitNote("act", usage("120", "300")); // would add 0.82 − 0.36 = 0.46
    expect(result(policy.reviewDebitNote(over))).toBe(
      `reject: debit note ${over.debitNoteId} would exceed the budget: it adds 0.46, only 0.14 remains`,
    );
    expect(formatAmount(allocation.spent)).toBe("0.36");
    expect(allocation.spent.lte(allocation.total)).toBe(true);
  });

  it("accepts a note that takes the budget to exactly zero", () => {
    const { allocation, policy, billing } = setup("0.36");
    expect(result(policy.reviewDebitNote(billing.debitNote("act", usage("60", "100"))))).toBe("accept 0.36");
    expect(formatAmount(allocation.remaining)).toBe("0");
  });

  it("accepts one invoice, returns the same decision for it again, refuses a second one", () => {
    const { allocation, policy, billing } = setup("10");
    policy.reviewDebitNote(billing.debitNote("act", usage("60", "100")));
    const inv = billing.issueInvoice(new Map([["act", usage("70", "110")]]));
    expect(result(policy.reviewInvoice(inv))).toBe("accept 0.03");
    expect(result(policy.reviewInvoice(inv))).toBe("accept 0.03");
    expect(policy.invoiced).toBe(true);
    expect(formatAmount(policy.acceptedTotal)).toBe("0.39");
    expect(formatAmount(allocation.spent)).toBe("0.39");
    expect(result(policy.reviewInvoice({ ...inv, invoiceId: "inv-2" }))).toBe(
      `reject: invoice inv-2: agreement ag already has invoice ${inv.invoiceId}`,
    );
    const late = {
      debitNoteId: "late",
      agreementId: "ag",
      activityId: "act",
      sequence: 9,
      usage: usage("80", "120"),
      totalAmount: pricing.cost(usage("80", "120")),
      issuedAt: T0,
    };
    expect(result(policy.reviewDebitNote(late))).toBe(
      "reject: debit note late: agreement ag is already invoiced",
    );
    expect(formatAmount(allocation.spent)).toBe("0.39");
  });

  it("rejects an overbilling provider and commits nothing for it", () => {
    const { allocation, policy, billing } = setup("10");
    const honest = billing.debitNote("act", usage("60", "100"));
    const inflated = { ...honest, totalAmount: honest.totalAmount.times(2) };
    expect(result(policy.reviewDebitNote(inflated))).toMatch(
      /^reject: debit note .*: amount 0.72 is not the agreed price 0.36/,
    );
    expect(formatAmount(allocation.spent)).toBe("0");
  });

  it("never exceeds the budget with concurrent notes from several providers", async () => {
    const allocation = new Allocation("2"); // 6 providers × 0.4 would be 2.4
    const now = () => T0 + 1_000_000;
    const providers = Array.from({ length: 6 }, (_, i) => {
      const agreementId = `ag-${i}`;
      return {
        policy: new AcceptancePolicy({
          terms: { agreementId, pricing, threads: 4, approvedAt: T0 },
          reservation: allocation.reserve("0", { owner: agreementId, agreementId }),
          now,
        }),
        billing: new AgreementBilling({ agreementId, pricing }),
      };
    });
    let accepted = 0;
    let rejected = 0;
    await Promise.all(
      providers.map(async ({ policy, billing }, i) => {
        for (let k = 1; k <= 10; k++) {
          await sleep((i + k) % 3);
          const d = policy.reviewDebitNote(billing.debitNote("act", usage(String(10 * k), String(10 * k))));
          if (d.accept) accepted++;
          else {
            rejected++;
            expect(d.reason).toMatch(/would exceed the budget/);
            break; // a provider whose note is rejected stops working
          }
          expect(allocation.spent.lte(allocation.total)).toBe(true);
        }
      }),
    );
    expect(allocation.spent.lte(allocation.total)).toBe(true);
    expect(rejected).toBeGreaterThan(0);
    expect(accepted).toBeGreaterThan(0);
    const sum = providers.reduce(
      (s, p) => s.plus(p.policy.acceptedTotal),
      allocation.spent.minus(allocation.spent),
    );
    expect(formatAmount(sum)).toBe(formatAmount(allocation.spent));
  });
});
