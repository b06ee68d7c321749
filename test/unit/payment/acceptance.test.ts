import { describe, expect, it } from "vitest";
import {
  resolveTolerance,
  reviewDebitNote,
  reviewInvoice,
  type AcceptedNote,
  type AgreedTerms,
  type Decision,
} from "../../../src/payment/acceptance.js";
import type { DebitNote, Invoice } from "../../../src/payment/debit-note.js";
import { formatAmount, money } from "../../../src/payment/money.js";
import { LinearPricing } from "../../../src/payment/pricing.js";
import { usage, type Usage } from "../../../src/payment/usage.js";

const pricing = new LinearPricing({ start: "0.1", perDurationSec: "0.001", perCpuSec: "0.002" });
const T0 = 1_700_000_000_000;
const terms: AgreedTerms = { agreementId: "ag", pricing, threads: 2, approvedAt: T0 };
const tolerance = resolveTolerance();

function note(u: Usage, patch: Partial<DebitNote> = {}): DebitNote {
  return {
    debitNoteId: "dn",
    agreementId: "ag",
    activityId: "act",
    sequence: 1,
    usage: u,
    totalAmount: pricing.cost(u),
    issuedAt: T0,
    ...patch,
  };
}

function review(
  n: DebitNote,
  opts: { previous?: AcceptedNote; nowSec?: number; available?: string } = {},
): Decision {
  return reviewDebitNote({
    note: n,
    terms,
    previous: opts.previous,
    now: T0 + (opts.nowSec ?? 100) * 1000,
    available: money(opts.available ?? "100"),
    tolerance,
  });
}

const due = (d: Decision) => (d.accept ? formatAmount(d.due) : d.reason);

describe("reviewDebitNote", () => {
  it("accepts an honest note and returns the exact amount it adds", () => {
    // 0.1 + 0.001·60 + 0.002·100 = 0.36
    expect(due(review(note(usage("60", "100"))))).toBe("0.36");
  });

  it("charges only the increase over the previous accepted note", () => {
    const previous: AcceptedNote = { sequence: 1, usage: usage("60", "100"), totalAmount: money("0.36") };
    expect(due(review(note(usage("90", "150"), { sequence: 2 }), { previous }))).toBe("0.13");
  });

  it("allows the tolerances exactly, and not beyond", () => {
    expect(review(note(usage("105", "0")), { nowSec: 100 }).accept).toBe(true);
    expect(due(review(note(usage("105.001", "0")), { nowSec: 100 }))).toBe(
      "debit note dn: duration 105.001 s exceeds the 100 s elapsed since the agreement (+5 s tolerance)",
    );
    expect(review(note(usage("100", "205")), { nowSec: 100 }).accept).toBe(true);
    expect(due(review(note(usage("100", "205.5")), { nowSec: 100 }))).toBe(
      "debit note dn: CPU time 205.5 s exceeds 100 s elapsed × 2 threads (+5 s tolerance)",
    );
  });

  it("rejects a price above the agreed coefficients", () => {
    const inflated = note(usage("60", "100"), { totalAmount: money("0.37") });
    expect(due(review(inflated))).toBe(
      "debit note dn: amount 0.37 is not the agreed price 0.36 of the usage (start 0.1, 3.6/h env, 7.2/h cpu)",
    );
  });

  it("rejects totals or usage that go down, and stale sequences", () => {
    const previous: AcceptedNote = { sequence: 2, usage: usage("60", "100"), totalAmount: money("0.36") };
    expect(due(review(note(usage("50", "100"), { sequence: 3 }), { previous }))).toBe(
      "debit note dn: duration went down from 60 s to 50 s",
    );
    expect(due(review(note(usage("60", "90"), { sequence: 3 }), { previous }))).toBe(
      "debit note dn: CPU time went down from 100 s to 90 s",
    );
    expect(due(review(note(usage("70", "100"), { sequence: 2 }), { previous }))).toBe(
      "debit note dn: sequence 2 of activity act is not after the accepted 2",
    );
  });

  it("rejects a note for another agreement", () => {
    expect(due(review(note(usage("1", "1"), { agreementId: "other" })))).toBe(
      "debit note dn is for agreement other, not ag",
    );
  });

  it("accepts a note that uses the remaining budget exactly, rejects one a cent above", () => {
    expect(due(review(note(usage("60", "100")), { available: "0.36" }))).toBe("0.36");
    expect(due(review(note(usage("60", "100")), { available: "0.35" }))).toBe(
      "debit note dn would exceed the budget: it adds 0.36, only 0.35 remains",
    );
  });

  it("honours an amount tolerance when one is configured", () => {
    const d = reviewDebitNote({
      note: note(usage("60", "100"), { totalAmount: money("0.3600001") }),
      terms,
      previous: undefined,
      now: T0 + 100_000,
      available: money("1"),
      tolerance: resolveTolerance({ amount: "0.000001" }),
    });
    expect(due(d)).toBe("0.3600001");
  });
});

describe("reviewInvoice", () => {
  const accepted = new Map<string, AcceptedNote>([
    ["a", { sequence: 3, usage: usage("60", "100"), totalAmount: money("0.36") }],
  ]);
  const invoice = (items: Invoice["items"], amount?: string): Invoice => ({
    invoiceId: "inv",
    agreementId: "ag",
    items,
    amount: amount === undefined ? items.reduce((s, i) => s.plus(i.amount), money("0")) : money(amount),
    issuedAt: T0,
  });
  const item = (activityId: string, u: Usage) => ({ activityId, usage: u, amount: pricing.cost(u) });
  const run = (inv: Invoice, available = "100") =>
    due(
      reviewInvoice({
        invoice: inv,
        terms,
        accepted,
        now: T0 + 120_000,
        available: money(available),
        tolerance,
      }),
    );

  it("accepts the final usage and charges what the notes did not", () => {
    // a: 0.1 + 0.09 + 0.24 = 0.43, already 0.36 accepted; b: 0.1 + 0.01 + 0.02 = 0.13
    expect(run(invoice([item("a", usage("90", "120")), item("b", usage("10", "10"))]))).toBe("0.2");
  });

  it("rejects an invoice that leaves out an activity, lists one twice, or mis-adds", () => {
    expect(run(invoice([item("b", usage("10", "10"))]))).toBe(
      "invoice inv leaves out activity a, which sent debit notes",
    );
    expect(run(invoice([item("a", usage("90", "120")), item("a", usage("90", "120"))]))).toBe(
      "invoice inv: activity a is listed twice",
    );
    expect(run(invoice([item("a", usage("90", "120"))], "0.5"))).toBe(
      "invoice inv: amount 0.5 is not the sum of its items 0.43",
    );
  });

  it("rejects impossible or overpriced items, and over-budget totals", () => {
    expect(run(invoice([item("a", usage("200", "120"))]))).toBe(
      "invoice inv, activity a: duration 200 s exceeds the 120 s elapsed since the agreement (+5 s tolerance)",
    );
    expect(run(invoice([{ ...item("a", usage("90", "120")), amount: money("1") }]))).toMatch(
      /^invoice inv, activity a: amount 1 is not the agreed price 0.43/,
    );
    expect(run(invoice([item("a", usage("90", "120"))]), "0.06")).toBe(
      "invoice inv would exceed the budget: it adds 0.07, only 0.06 remains",
    );
  });
});
