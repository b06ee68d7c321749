/**
 * The requestor's per-agreement payment state: applies the pure rules of `acceptance.ts`, records
 * what it accepted, and commits accepted amounts to the agreement's budget reservation — in one
 * synchronous step, so concurrent notes from several providers can never overspend the budget.
 */
import type { Decimal } from "decimal.js";
import { BudgetExceededError } from "../errors.js";
import {
  resolveTolerance,
  reviewDebitNote,
  reviewInvoice,
  type AcceptedNote,
  type AgreedTerms,
  type Decision,
  type Tolerance,
  type ToleranceOptions,
} from "./acceptance.js";
import type { Reservation } from "./allocation.js";
import { debitNoteToWire, invoiceToWire, type DebitNote, type Invoice } from "./debit-note.js";
import { ZERO } from "./money.js";

export interface AcceptancePolicyOptions {
  readonly terms: AgreedTerms;
  /** The agreement's budget reservation; accepted amounts are committed to it. */
  readonly reservation: Reservation;
  /** Clock/meter slack. @default see `ToleranceOptions` */
  readonly tolerance?: ToleranceOptions;
  /** Epoch-ms clock. @default Date.now */
  readonly now?: () => number;
}

interface Seen {
  readonly fingerprint: string;
  readonly decision: Decision;
}

export class AcceptancePolicy {
  readonly terms: AgreedTerms;
  readonly tolerance: Tolerance;
  readonly #reservation: Reservation;
  readonly #now: () => number;
  readonly #accepted = new Map<string, AcceptedNote>();
  readonly #notes = new Map<string, Seen>();
  #invoice: { readonly id: string; readonly seen: Seen } | undefined;
  #total: Decimal = ZERO;

  constructor(options: AcceptancePolicyOptions) {
    this.terms = options.terms;
    this.tolerance = resolveTolerance(options.tolerance);
    this.#reservation = options.reservation;
    this.#now = options.now ?? Date.now;
  }

  /** The total accepted so far: the latest accepted notes, or the accepted invoice. */
  get acceptedTotal(): Decimal {
    return this.#total;
  }

  /** True once an invoice was accepted. */
  get invoiced(): boolean {
    return this.#invoice?.seen.decision.accept === true;
  }

  /**
   * Accept or reject a debit note; on accept the added amount is committed to the reservation.
   * The same note again gets the same decision and commits nothing more.
   */
  reviewDebitNote(note: DebitNote): Decision {
    const fingerprint = JSON.stringify(debitNoteToWire(note));
    const seen = this.#notes.get(note.debitNoteId);
    if (seen) {
      return seen.fingerprint === fingerprint
        ? seen.decision
        : {
            accept: false,
            reason: `debit note ${note.debitNoteId} was already received with different contents`,
          };
    }
    let decision: Decision;
    if (this.#invoice) {
      decision = {
        accept: false,
        reason: `debit note ${note.debitNoteId}: agreement ${this.terms.agreementId} is already invoiced`,
      };
    } else {
      decision = this.#commit(
        reviewDebitNote({
          note,
          terms: this.terms,
          previous: this.#accepted.get(note.activityId),
          now: this.#now(),
          available: this.#reservation.available,
          tolerance: this.tolerance,
        }),
      );
      if (decision.accept) {
        this.#accepted.set(note.activityId, {
          sequence: note.sequence,
          usage: note.usage,
          totalAmount: note.totalAmount,
        });
      }
    }
    this.#notes.set(note.debitNoteId, { fingerprint, decision });
    return decision;
  }

  /**
   * Accept or reject the agreement's invoice. The same invoice again gets the same decision; any
   * other invoice for the agreement is refused.
   */
  reviewInvoice(invoice: Invoice): Decision {
    const fingerprint = JSON.stringify(invoiceToWire(invoice));
    if (this.#invoice) {
      const { id, seen } = this.#invoice;
      if (id === invoice.invoiceId && seen.fingerprint === fingerprint) return seen.decision;
      return {
        accept: false,
        reason: `invoice ${invoice.invoiceId}: agreement ${this.terms.agreementId} already has invoice ${id}`,
      };
    }
    const decision = this.#commit(
      reviewInvoice({
        invoice,
        terms: this.terms,
        accepted: this.#accepted,
        now: this.#now(),
        available: this.#reservation.available,
        tolerance: this.tolerance,
      }),
    );
    this.#invoice = { id: invoice.invoiceId, seen: { fingerprint, decision } };
    return decision;
  }

  #commit(decision: Decision): Decision {
    if (!decision.accept) return decision;
    try {
      this.#reservation.commit(decision.due);
      this.#total = this.#total.plus(decision.due);
      return decision;
    } catch (err) {
      return {
        accept: false,
        reason: err instanceof Error ? err.message : String(err),
        ...(err instanceof BudgetExceededError ? { overBudget: true } : {}),
      };
    }
  }
}
