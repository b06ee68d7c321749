/**
 * What the requestor's payments report (DESIGN §6): events named `<domain>.<what happened>` with
 * the ids and amounts (decimal strings) they concern, and the per-provider cost summary.
 */
import { formatAmount, type Decimal } from "../payment/index.js";

export type PaymentEvent =
  | {
      readonly type: "payment.debit_note_accepted";
      readonly agreementId: string;
      readonly providerId: string;
      /** The note's running total for its activity. */
      readonly amount: string;
    }
  | {
      readonly type: "payment.debit_note_rejected";
      readonly agreementId: string;
      readonly providerId: string;
      readonly amount: string;
      readonly reason: string;
    }
  | {
      readonly type: "payment.invoice_received";
      readonly agreementId: string;
      readonly providerId: string;
      readonly amount: string;
    }
  | {
      readonly type: "payment.invoice_rejected";
      readonly agreementId: string;
      readonly providerId: string;
      readonly amount: string;
      readonly reason: string;
    }
  | {
      readonly type: "payment.sent";
      readonly agreementId: string;
      readonly providerId: string;
      readonly amount: string;
    }
  | {
      readonly type: "payment.failed";
      readonly agreementId: string;
      readonly providerId: string;
      readonly amount: string;
      readonly reason: string;
    }
  /**
   * Shutdown is done with payments: every invoice paid or rejected, or the grace ran out
   * (`unsettled` agreements). `paid` is the total paid in this run.
   */
  | { readonly type: "payment.settled"; readonly paid: string; readonly unsettled: number }
  /** The budget cannot cover the next amount: no new work, agreements are being terminated. */
  | { readonly type: "budget.exceeded"; readonly needed: string; readonly remaining: string };

export type PaymentEventType = PaymentEvent["type"];

/** What one provider cost. */
export interface ProviderCost {
  readonly providerId: string;
  readonly agreements: number;
  /** Accepted debt (debit notes, then the invoice). */
  readonly accepted: Decimal;
  /** Paid (invoices settled). */
  readonly paid: Decimal;
}

export interface PaymentSummary {
  readonly providers: readonly ProviderCost[];
  readonly accepted: Decimal;
  readonly paid: Decimal;
  readonly budget: Decimal;
  /** Committed from the budget (never more than `budget`). */
  readonly spent: Decimal;
  /** The requestor's ledger file (undefined for an in-memory ledger). */
  readonly ledgerPath: string | undefined;
}

/** One line per provider and the totals, e.g. for a log summary. */
export function formatPaymentSummary(summary: PaymentSummary): string {
  const lines = summary.providers.map(
    (p) =>
      `  ${p.providerId.slice(0, 8)}…  ${p.agreements} agreement(s)  paid ${formatAmount(p.paid)}` +
      (p.accepted.equals(p.paid) ? "" : ` (accepted ${formatAmount(p.accepted)})`),
  );
  lines.push(
    `  total paid ${formatAmount(summary.paid)} of budget ${formatAmount(summary.budget)}` +
      ` (spent ${formatAmount(summary.spent)})`,
  );
  return lines.join("\n");
}
