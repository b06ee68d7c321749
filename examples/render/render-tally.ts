/**
 * A running tally of the Executor's events for the progress bar and summary.json: frames done,
 * rejected and retried, when work started, and per agreement what its debit notes, invoice and
 * payment came to (payments arrive as agreements end, after the last frame). Pure: feed it events,
 * read it back.
 */
import { Decimal } from "decimal.js";
import type { ExecutorEvent } from "../../src/index.js";

export interface AgreementTally {
  readonly agreementId: string;
  readonly providerId: string;
  providerName: string | undefined;
  /** The last accepted debit note's running total. */
  debitNotes: Decimal;
  /** The invoice's amount, once one was received. */
  invoiced: Decimal | undefined;
  /** What was paid for this agreement. */
  paid: Decimal;
  terminated: string | undefined;
  /** An invoice refused or a payment that failed: why. */
  problem: string | undefined;
}

export class RenderTally {
  readonly total: number;
  accepted = 0;
  rejected = 0;
  retried = 0;
  /** When the first task started (ms since the epoch). */
  startedAt: number | undefined;
  budgetExceeded = false;
  readonly agreements = new Map<string, AgreementTally>();

  constructor(total: number) {
    this.total = total;
  }

  /** Every frame has ended, accepted or rejected. */
  get finished(): boolean {
    return this.accepted + this.rejected >= this.total;
  }

  /** What the run has cost so far: per agreement, its accepted debit notes, or its payment once paid. */
  get spent(): Decimal {
    let sum = new Decimal(0);
    for (const a of this.agreements.values()) sum = sum.plus(Decimal.max(a.debitNotes, a.paid));
    return sum;
  }

  /** Ms until the last frame at the rate so far; undefined before the first frame is done. */
  etaMs(now: number): number | undefined {
    if (this.startedAt === undefined || this.accepted === 0) return undefined;
    const perFrame = (now - this.startedAt) / this.accepted;
    return Math.max(0, Math.round(perFrame * (this.total - this.accepted - this.rejected)));
  }

  #agreement(agreementId: string, providerId: string): AgreementTally {
    let a = this.agreements.get(agreementId);
    if (!a) {
      a = {
        agreementId,
        providerId,
        providerName: undefined,
        debitNotes: new Decimal(0),
        invoiced: undefined,
        paid: new Decimal(0),
        terminated: undefined,
        problem: undefined,
      };
      this.agreements.set(agreementId, a);
    }
    return a;
  }

  add(e: ExecutorEvent, now = Date.now()): void {
    switch (e.type) {
      case "task.started":
        this.startedAt ??= now;
        return;
      case "task.accepted":
        this.accepted++;
        return;
      case "task.rejected":
        this.rejected++;
        return;
      case "task.retried":
        this.retried++;
        return;
      case "agreement.created":
        this.#agreement(e.agreementId, e.providerId).providerName = e.providerName;
        return;
      case "agreement.terminated":
        this.#agreement(e.agreementId, e.providerId).terminated = e.reason;
        return;
      case "payment.debit_note_accepted": {
        const a = this.#agreement(e.agreementId, e.providerId);
        a.debitNotes = Decimal.max(a.debitNotes, e.amount);
        return;
      }
      case "payment.sent": {
        const a = this.#agreement(e.agreementId, e.providerId);
        a.paid = a.paid.plus(e.amount);
        return;
      }
      case "payment.invoice_received":
        this.#agreement(e.agreementId, e.providerId).invoiced = new Decimal(e.amount);
        return;
      case "payment.invoice_rejected":
      case "payment.failed":
        this.#agreement(e.agreementId, e.providerId).problem = `${e.type}: ${e.reason}`;
        return;
      case "budget.exceeded":
        this.budgetExceeded = true;
        return;
      default:
        return;
    }
  }

  /** The tally as plain JSON (amounts as decimal strings), for summary.json. */
  toJSON(): object {
    return {
      frames: this.total,
      accepted: this.accepted,
      rejected: this.rejected,
      retried: this.retried,
      budgetExceeded: this.budgetExceeded,
      spent: this.spent.toString(),
      agreements: [...this.agreements.values()].map((a) => ({
        agreementId: a.agreementId,
        providerId: a.providerId,
        providerName: a.providerName,
        debitNotes: a.debitNotes.toString(),
        invoiced: a.invoiced?.toString(),
        paid: a.paid.toString(),
        terminated: a.terminated,
        problem: a.problem,
      })),
    };
  }
}
