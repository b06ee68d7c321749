/**
 * The requestor's acceptance rules for debit notes and invoices (DESIGN §10), as pure functions:
 * given the agreed terms, what was accepted before, the clock and the budget, a note is either
 * accepted (with the amount it adds) or rejected with a reason the provider can read.
 */
import { Decimal } from "decimal.js";
import type { DebitNote, Invoice } from "./debit-note.js";
import { formatAmount, parseAmount, sumAmounts, ZERO, type MoneyInput } from "./money.js";
import type { LinearPricing } from "./pricing.js";
import type { Usage } from "./usage.js";

/** What the agreement fixed, as far as payments are concerned. */
export interface AgreedTerms {
  readonly agreementId: string;
  readonly pricing: LinearPricing;
  /** CPU threads the offer promised: the bound on CPU seconds per elapsed second. */
  readonly threads: number;
  /** When the agreement was approved (epoch ms). */
  readonly approvedAt: number;
}

/** Slack for clocks and meters that do not tick together (seconds, amounts as decimal strings). */
export interface ToleranceOptions {
  /** Extra duration seconds allowed beyond the time elapsed since the agreement. @default "5" */
  readonly durationSec?: MoneyInput;
  /** Extra CPU seconds allowed beyond elapsed × threads. @default "5" */
  readonly cpuSec?: MoneyInput;
  /** Allowed |amount due − agreed price of the usage|. @default "0" */
  readonly amount?: MoneyInput;
}

export interface Tolerance {
  readonly durationSec: Decimal;
  readonly cpuSec: Decimal;
  readonly amount: Decimal;
}

export function resolveTolerance(options: ToleranceOptions = {}): Tolerance {
  return Object.freeze({
    durationSec: parseAmount(options.durationSec ?? "5", "durationSec tolerance"),
    cpuSec: parseAmount(options.cpuSec ?? "5", "cpuSec tolerance"),
    amount: parseAmount(options.amount ?? "0", "amount tolerance"),
  });
}

/** The last accepted debit note of one activity. */
export interface AcceptedNote {
  readonly sequence: number;
  readonly usage: Usage;
  readonly totalAmount: Decimal;
}

/**
 * Accept (committing `due` more to the budget) or reject with a reason; `overBudget` marks a
 * rejection whose only fault is the budget (the note itself is honest).
 */
export type Decision =
  | { readonly accept: true; readonly due: Decimal }
  | { readonly accept: false; readonly reason: string; readonly overBudget?: boolean };

export interface DebitNoteReview {
  readonly note: DebitNote;
  readonly terms: AgreedTerms;
  /** The activity's last accepted note, if any. */
  readonly previous: AcceptedNote | undefined;
  /** Now (epoch ms). */
  readonly now: number;
  /** What may still be committed for this agreement (its reservation + the free budget). */
  readonly available: Decimal;
  readonly tolerance: Tolerance;
}

/** Decide on one debit note. Pure: changes nothing. */
export function reviewDebitNote(r: DebitNoteReview): Decision {
  const { note, terms, previous } = r;
  if (note.agreementId !== terms.agreementId) {
    return reject(
      `debit note ${note.debitNoteId} is for agreement ${note.agreementId}, not ${terms.agreementId}`,
    );
  }
  if (previous && note.sequence <= previous.sequence) {
    return reject(
      `debit note ${note.debitNoteId}: sequence ${note.sequence} of activity ${note.activityId} is not after the accepted ${previous.sequence}`,
    );
  }
  const problem =
    checkUsage(note.usage, terms, r.now, r.tolerance) ??
    checkMonotonic(note.usage, note.totalAmount, previous) ??
    checkPrice(note.usage, note.totalAmount, terms.pricing, r.tolerance);
  if (problem) return reject(`debit note ${note.debitNoteId}: ${problem}`);
  const due = note.totalAmount.minus(previous?.totalAmount ?? ZERO);
  return withinBudget(due, r.available, `debit note ${note.debitNoteId}`);
}

export interface InvoiceReview {
  readonly invoice: Invoice;
  readonly terms: AgreedTerms;
  /** Last accepted note per activity id. */
  readonly accepted: ReadonlyMap<string, AcceptedNote>;
  readonly now: number;
  readonly available: Decimal;
  readonly tolerance: Tolerance;
}

/** Decide on an agreement's invoice. Pure: changes nothing. */
export function reviewInvoice(r: InvoiceReview): Decision {
  const { invoice, terms } = r;
  const what = `invoice ${invoice.invoiceId}`;
  if (invoice.agreementId !== terms.agreementId) {
    return reject(`${what} is for agreement ${invoice.agreementId}, not ${terms.agreementId}`);
  }
  const seen = new Set<string>();
  for (const item of invoice.items) {
    if (seen.has(item.activityId)) return reject(`${what}: activity ${item.activityId} is listed twice`);
    seen.add(item.activityId);
    const previous = r.accepted.get(item.activityId);
    const problem =
      checkUsage(item.usage, terms, r.now, r.tolerance) ??
      checkMonotonic(item.usage, item.amount, previous) ??
      checkPrice(item.usage, item.amount, terms.pricing, r.tolerance);
    if (problem) return reject(`${what}, activity ${item.activityId}: ${problem}`);
  }
  for (const activityId of r.accepted.keys()) {
    if (!seen.has(activityId))
      return reject(`${what} leaves out activity ${activityId}, which sent debit notes`);
  }
  const itemsTotal = sumAmounts(invoice.items.map((i) => i.amount));
  if (!itemsTotal.equals(invoice.amount)) {
    return reject(
      `${what}: amount ${formatAmount(invoice.amount)} is not the sum of its items ${formatAmount(itemsTotal)}`,
    );
  }
  const acceptedTotal = sumAmounts([...r.accepted.values()].map((n) => n.totalAmount));
  return withinBudget(invoice.amount.minus(acceptedTotal), r.available, what);
}

function checkUsage(usage: Usage, terms: AgreedTerms, now: number, tol: Tolerance): string | undefined {
  const elapsed = parseAmount(new Decimal(Math.max(0, now - terms.approvedAt))).div(1000);
  const maxDuration = elapsed.plus(tol.durationSec);
  if (usage.durationSec.gt(maxDuration)) {
    return `duration ${formatAmount(usage.durationSec)} s exceeds the ${formatAmount(elapsed)} s elapsed since the agreement (+${formatAmount(tol.durationSec)} s tolerance)`;
  }
  const maxCpu = elapsed.times(terms.threads).plus(tol.cpuSec);
  if (usage.cpuSec.gt(maxCpu)) {
    return `CPU time ${formatAmount(usage.cpuSec)} s exceeds ${formatAmount(elapsed)} s elapsed × ${terms.threads} threads (+${formatAmount(tol.cpuSec)} s tolerance)`;
  }
  return undefined;
}

function checkMonotonic(
  usage: Usage,
  total: Decimal,
  previous: AcceptedNote | undefined,
): string | undefined {
  if (!previous) return undefined;
  if (usage.durationSec.lt(previous.usage.durationSec)) {
    return `duration went down from ${formatAmount(previous.usage.durationSec)} s to ${formatAmount(usage.durationSec)} s`;
  }
  if (usage.cpuSec.lt(previous.usage.cpuSec)) {
    return `CPU time went down from ${formatAmount(previous.usage.cpuSec)} s to ${formatAmount(usage.cpuSec)} s`;
  }
  if (total.lt(previous.totalAmount)) {
    return `amount went down from ${formatAmount(previous.totalAmount)} to ${formatAmount(total)}`;
  }
  return undefined;
}

function checkPrice(
  usage: Usage,
  amount: Decimal,
  pricing: LinearPricing,
  tol: Tolerance,
): string | undefined {
  const agreed = pricing.cost(usage);
  if (amount.minus(agreed).abs().gt(tol.amount)) {
    return `amount ${formatAmount(amount)} is not the agreed price ${formatAmount(agreed)} of the usage (${pricing.toString()})`;
  }
  return undefined;
}

function withinBudget(due: Decimal, available: Decimal, what: string): Decision {
  const more = due.isNegative() ? ZERO : due;
  if (more.gt(available)) {
    return {
      accept: false,
      reason: `${what} would exceed the budget: it adds ${formatAmount(more)}, only ${formatAmount(available)} remains`,
      overBudget: true,
    };
  }
  return { accept: true, due: more };
}

function reject(reason: string): Decision {
  return { accept: false, reason };
}
