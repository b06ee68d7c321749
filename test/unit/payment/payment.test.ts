import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import { formatAmount, money } from "../../../src/payment/money.js";
import { paymentFromWire, paymentToWire, type Payment } from "../../../src/payment/payment.js";

const payment: Payment = {
  paymentId: "pay-1",
  agreementId: "ag",
  invoiceId: "inv",
  payer: "req",
  payee: "prov",
  amount: money("1.005"),
  driver: "ledger",
  paidAt: 42,
};

describe("payment wire form", () => {
  it("round-trips with the exact amount", () => {
    const wire = paymentToWire(payment);
    expect(wire.amount).toBe("1.005");
    expect(formatAmount(paymentFromWire(JSON.parse(JSON.stringify(wire))).amount)).toBe("1.005");
  });

  it("refuses a malformed payment", () => {
    expect(() => paymentFromWire({ ...paymentToWire(payment), amount: 1.005 })).toThrow(PaymentError);
    expect(() => paymentFromWire({ ...paymentToWire(payment), payer: "" })).toThrow(
      /^invalid payment: .*payer/,
    );
  });
});
