import { describe, expect, it } from "vitest";
import { AbortError, PaymentError } from "../../../src/errors.js";
import { LedgerPaymentDriver, type PaymentOrder } from "../../../src/payment/driver.js";
import { Ledger } from "../../../src/payment/ledger.js";
import { formatAmount, money } from "../../../src/payment/money.js";

const order: PaymentOrder = {
  agreementId: "ag",
  invoiceId: "inv",
  payer: "req",
  payee: "prov",
  amount: money("0.43"),
};

async function sides() {
  let n = 0;
  const requestor = new LedgerPaymentDriver({
    ledger: await Ledger.open(),
    newId: () => `pay-${++n}`,
    now: () => 7,
  });
  const provider = new LedgerPaymentDriver({ ledger: await Ledger.open() });
  return { requestor, provider };
}

describe("LedgerPaymentDriver", () => {
  it("pays an invoice once and both ledgers agree", async () => {
    const { requestor, provider } = await sides();
    const [p1, p2] = await Promise.all([requestor.pay(order), requestor.pay(order)]);
    expect(p1).toBe(p2);
    const p3 = await requestor.pay(order);
    expect(p3.paymentId).toBe("pay-1");
    expect(p1).toMatchObject({ paymentId: "pay-1", driver: "ledger", paidAt: 7, invoiceId: "inv" });
    await provider.receive(p1, order);
    await provider.receive(p1, order); // a redelivered payment is a no-op
    for (const side of [requestor, provider]) {
      expect(formatAmount(side.ledger.index.invoicedTotal())).toBe("0.43");
      expect(formatAmount(side.ledger.index.paidTotal())).toBe("0.43");
      expect(side.ledger.index.unpaidInvoices()).toEqual([]);
    }
  });

  it("refuses a payment that does not settle the invoice", async () => {
    const { requestor, provider } = await sides();
    const p = await requestor.pay(order);
    await expect(provider.receive({ ...p, amount: money("0.42") }, order)).rejects.toThrow(
      new RegExp("^payment pay-1 does not settle invoice inv: amount 0.42, expected 0.43$"),
    );
    await expect(provider.receive({ ...p, payee: "someone" }, order)).rejects.toThrow(PaymentError);
    expect(provider.ledger.index.records).toEqual([]);
  });

  it("does not pay when already aborted", async () => {
    const { requestor } = await sides();
    await expect(requestor.pay(order, { signal: AbortSignal.abort() })).rejects.toThrow(AbortError);
    expect(requestor.ledger.index.records).toEqual([]);
  });
});
