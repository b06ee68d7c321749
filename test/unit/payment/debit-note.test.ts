import { describe, expect, it } from "vitest";
import { PaymentError } from "../../../src/errors.js";
import {
  debitNoteFromWire,
  debitNoteToWire,
  invoiceFromWire,
  invoiceItemsTotal,
  invoiceToWire,
  type DebitNote,
  type Invoice,
} from "../../../src/payment/debit-note.js";
import { formatAmount, money } from "../../../src/payment/money.js";
import { usage } from "../../../src/payment/usage.js";

const note: DebitNote = {
  debitNoteId: "dn-1",
  agreementId: "ag-1",
  activityId: "act-1",
  sequence: 1,
  usage: usage("60", "30.5"),
  totalAmount: money("0.0123"),
  issuedAt: 1_700_000_000_000,
};

describe("debit note wire form", () => {
  it("round-trips with exact decimal strings", () => {
    const wire = debitNoteToWire(note);
    expect(wire).toEqual({
      debitNoteId: "dn-1",
      agreementId: "ag-1",
      activityId: "act-1",
      sequence: 1,
      usage: { "agora.usage.duration_sec": "60", "agora.usage.cpu_sec": "30.5" },
      totalAmount: "0.0123",
      issuedAt: 1_700_000_000_000,
    });
    const back = debitNoteFromWire(JSON.parse(JSON.stringify(wire)));
    expect(formatAmount(back.totalAmount)).toBe("0.0123");
    expect(formatAmount(back.usage.cpuSec)).toBe("30.5");
  });

  it.each([
    [{ totalAmount: 0.0123 }, "totalAmount"],
    [{ totalAmount: "-1" }, "totalAmount"],
    [{ sequence: 0 }, "sequence"],
    [{ sequence: 1.5 }, "sequence"],
    [{ extra: true }, "extra"],
    [{ usage: { "agora.usage.duration_sec": "1" } }, "agora.usage.cpu_sec"],
  ])("refuses a malformed note %#", (patch, field) => {
    const bad = { ...debitNoteToWire(note), ...patch };
    expect(() => debitNoteFromWire(bad)).toThrow(PaymentError);
    expect(() => debitNoteFromWire(bad)).toThrow(field);
  });
});

describe("invoice wire form", () => {
  const invoice: Invoice = {
    invoiceId: "inv-1",
    agreementId: "ag-1",
    items: [
      { activityId: "a", usage: usage("10", "5"), amount: money("0.1") },
      { activityId: "b", usage: usage("20", "5"), amount: money("0.25") },
    ],
    amount: money("0.35"),
    issuedAt: 1,
  };

  it("round-trips", () => {
    const back = invoiceFromWire(JSON.parse(JSON.stringify(invoiceToWire(invoice))));
    expect(formatAmount(back.amount)).toBe("0.35");
    expect(back.items.map((i) => i.activityId)).toEqual(["a", "b"]);
    expect(formatAmount(invoiceItemsTotal(back.items))).toBe("0.35");
  });

  it("refuses a malformed invoice", () => {
    expect(() => invoiceFromWire({ ...invoiceToWire(invoice), amount: "abc" })).toThrow(
      /^invalid invoice: .*amount/,
    );
  });
});
