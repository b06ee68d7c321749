import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { LedgerIndex, type InvoiceRecord, type PaymentRecord } from "../../../src/payment/ledger-index.js";
import { formatAmount } from "../../../src/payment/money.js";
import { expectError } from "./expect-error.js";

const inv = (invoiceId: string, agreementId: string, amount: string): InvoiceRecord => ({
  kind: "invoice",
  invoiceId,
  agreementId,
  payer: "req",
  payee: "prov",
  amount,
  ts: 1,
});
const pay = (paymentId: string, invoiceId: string, agreementId: string, amount: string): PaymentRecord => ({
  kind: "payment",
  paymentId,
  agreementId,
  invoiceId,
  payer: "req",
  payee: "prov",
  amount,
  driver: "ledger",
  paidAt: 2,
});

describe("LedgerIndex", () => {
  it("sums invoices and payments, overall and per agreement", () => {
    const idx = new LedgerIndex();
    idx.add(inv("i1", "a1", "0.1"));
    idx.add(inv("i2", "a2", "0.25"));
    idx.add(pay("p1", "i1", "a1", "0.1"));
    expect(formatAmount(idx.invoicedTotal())).toBe("0.35");
    expect(formatAmount(idx.paidTotal())).toBe("0.1");
    expect(formatAmount(idx.paidTotal("a2"))).toBe("0");
    expect(idx.unpaidInvoices().map((i) => i.invoiceId)).toEqual(["i2"]);
    expect(idx.paymentFor("i1")?.paymentId).toBe("p1");
  });

  it("ignores an exact duplicate, whatever its key order", () => {
    const idx = new LedgerIndex();
    const r = inv("i1", "a1", "0.1");
    expect(idx.add(r)).toBe("new");
    const reordered = Object.fromEntries(Object.entries(r).reverse()) as InvoiceRecord;
    expect(idx.add(reordered)).toBe("duplicate");
    expect(idx.records).toHaveLength(1);
  });

  it("refuses contradictions: changed record, second payment, wrong amount", () => {
    const idx = new LedgerIndex();
    idx.add(inv("i1", "a1", "0.1"));
    expectError(
      () => idx.add(inv("i1", "a1", "0.2")),
      PaymentError,
      "ledger already holds invoice i1 with different contents",
    );
    expectError(
      () => idx.add(pay("p1", "i1", "a1", "0.2")),
      PaymentError,
      "payment p1 of 0.2 does not match invoice i1 of 0.1",
    );
    idx.add(pay("p1", "i1", "a1", "0.10"));
    expectError(
      () => idx.add(pay("p2", "i1", "a1", "0.1")),
      PaymentError,
      "invoice i1 is already paid by payment p1",
    );
    expect(formatAmount(idx.paidTotal())).toBe("0.1");
  });
});
