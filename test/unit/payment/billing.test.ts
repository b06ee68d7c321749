import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { AgreementBilling } from "../../../src/payment/billing.js";
import { formatAmount } from "../../../src/payment/money.js";
import { LinearPricing } from "../../../src/payment/pricing.js";
import { usage } from "../../../src/payment/usage.js";
import { expectError } from "./expect-error.js";

const pricing = new LinearPricing({ start: "0.1", perDurationSec: "0.001", perCpuSec: "0.002" });
const ids = () => {
  let n = 0;
  return () => `id-${++n}`;
};

describe("AgreementBilling", () => {
  it("numbers notes per activity and prices the cumulative usage", () => {
    const bill = new AgreementBilling({ agreementId: "ag", pricing, newId: ids() });
    const n1 = bill.debitNote("act-1", usage("10", "5"), 1000);
    const n2 = bill.debitNote("act-2", usage("1", "1"), 1001);
    const n3 = bill.debitNote("act-1", usage("20", "15"), 1002);
    expect([n1.sequence, n2.sequence, n3.sequence]).toEqual([1, 1, 2]);
    expect(formatAmount(n1.totalAmount)).toBe("0.12"); // 0.1 + 0.01 + 0.01
    expect(formatAmount(n3.totalAmount)).toBe("0.15"); // 0.1 + 0.02 + 0.03
    expect(n3).toMatchObject({ debitNoteId: "id-3", agreementId: "ag", activityId: "act-1", issuedAt: 1002 });
  });

  it("refuses usage that goes down", () => {
    const bill = new AgreementBilling({ agreementId: "ag", pricing });
    bill.debitNote("act-1", usage("10", "5"));
    const err = expectError(
      () => bill.debitNote("act-1", usage("9", "5")),
      PaymentError,
      "usage of activity act-1 went down (duration 10 → 9, cpu 5 → 5)",
    );
    expect(err.activityId).toBe("act-1");
  });

  it("issues one invoice with every activity's final usage, then refuses more", () => {
    const bill = new AgreementBilling({ agreementId: "ag", pricing, newId: ids() });
    bill.debitNote("act-1", usage("10", "5"));
    bill.debitNote("act-2", usage("1", "1"));
    const inv = bill.issueInvoice(new Map([["act-1", usage("30", "10")]]), 5000);
    expect(inv.items.map((i) => [i.activityId, formatAmount(i.amount)])).toEqual([
      ["act-1", "0.15"], // 0.1 + 0.03 + 0.02
      ["act-2", "0.103"],
    ]);
    expect(formatAmount(inv.amount)).toBe("0.253");
    expect(bill.invoice).toBe(inv);
    expectError(() => bill.issueInvoice(), PaymentError, "agreement ag is already invoiced");
    expect(() => bill.debitNote("act-1", usage("40", "10"))).toThrow("already invoiced");
  });
});
