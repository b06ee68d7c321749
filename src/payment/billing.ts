/**
 * The provider's side of one agreement's bill: numbers debit notes per activity, prices usage
 * with the agreed `LinearPricing`, keeps totals monotonic, and issues exactly one invoice.
 */
import { randomUUID } from "node:crypto";
import { PaymentError } from "../errors.js";
import type { DebitNote, Invoice, InvoiceItem } from "./debit-note.js";
import { formatAmount, sumAmounts } from "./money.js";
import type { LinearPricing } from "./pricing.js";
import type { Usage } from "./usage.js";

export interface AgreementBillingOptions {
  readonly agreementId: string;
  readonly pricing: LinearPricing;
  /** Id generator for notes and the invoice. @default crypto.randomUUID */
  readonly newId?: () => string;
}

interface ActivityBill {
  sequence: number;
  usage: Usage;
}

export class AgreementBilling {
  readonly agreementId: string;
  readonly pricing: LinearPricing;
  readonly #newId: () => string;
  readonly #activities = new Map<string, ActivityBill>();
  #invoice: Invoice | undefined;

  constructor(options: AgreementBillingOptions) {
    this.agreementId = options.agreementId;
    this.pricing = options.pricing;
    this.#newId = options.newId ?? randomUUID;
  }

  /** The invoice, once issued. */
  get invoice(): Invoice | undefined {
    return this.#invoice;
  }

  /**
   * Issue the next debit note of `activityId` for its cumulative `usage`.
   * @throws PaymentError if the usage went down, or the invoice was already issued.
   */
  debitNote(activityId: string, usage: Usage, now: number = Date.now()): DebitNote {
    this.#assertOpen();
    const bill = this.#record(activityId, usage);
    bill.sequence += 1;
    return {
      debitNoteId: this.#newId(),
      agreementId: this.agreementId,
      activityId,
      sequence: bill.sequence,
      usage,
      totalAmount: this.pricing.cost(usage),
      issuedAt: now,
    };
  }

  /**
   * Issue the agreement's invoice, once. `finalUsage` (activity id → usage) updates the usage of
   * activities since their last note; every activity ever billed appears as an item.
   * @throws PaymentError on a second call or a usage that went down.
   */
  issueInvoice(finalUsage: ReadonlyMap<string, Usage> = new Map(), now: number = Date.now()): Invoice {
    this.#assertOpen();
    for (const [activityId, usage] of finalUsage) this.#record(activityId, usage);
    const items: InvoiceItem[] = [...this.#activities].map(([activityId, bill]) => ({
      activityId,
      usage: bill.usage,
      amount: this.pricing.cost(bill.usage),
    }));
    this.#invoice = {
      invoiceId: this.#newId(),
      agreementId: this.agreementId,
      items,
      amount: sumAmounts(items.map((i) => i.amount)),
      issuedAt: now,
    };
    return this.#invoice;
  }

  #record(activityId: string, usage: Usage): ActivityBill {
    const bill = this.#activities.get(activityId) ?? { sequence: 0, usage };
    if (usage.durationSec.lt(bill.usage.durationSec) || usage.cpuSec.lt(bill.usage.cpuSec)) {
      throw new PaymentError(
        `usage of activity ${activityId} went down (duration ${formatAmount(bill.usage.durationSec)} → ${formatAmount(usage.durationSec)}, cpu ${formatAmount(bill.usage.cpuSec)} → ${formatAmount(usage.cpuSec)})`,
        { agreementId: this.agreementId, activityId },
      );
    }
    bill.usage = usage;
    this.#activities.set(activityId, bill);
    return bill;
  }

  #assertOpen(): void {
    if (this.#invoice) {
      throw new PaymentError(`agreement ${this.agreementId} is already invoiced`, {
        agreementId: this.agreementId,
      });
    }
  }
}
