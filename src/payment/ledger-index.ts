/**
 * The in-memory index of a ledger: pure, no I/O. It knows which invoices were accepted and which
 * were paid, refuses contradictions (the same id with other contents, a second payment of one
 * invoice) and treats an exact repeat as a no-op.
 */
import type { Decimal } from "decimal.js";
import { z } from "zod";
import { PaymentError } from "../errors.js";
import { amountSchema, idSchema } from "../protocol/index.js";
import { parseAmount, sumAmounts, ZERO } from "./money.js";
import { paymentWireSchema } from "./payment.js";

/** One line of a ledger. */
export const ledgerRecordSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("invoice"),
    invoiceId: idSchema,
    agreementId: idSchema,
    payer: idSchema,
    payee: idSchema,
    amount: amountSchema,
    ts: z.number().int().nonnegative(),
  }),
  paymentWireSchema.extend({ kind: z.literal("payment") }),
]);
export type LedgerRecord = z.infer<typeof ledgerRecordSchema>;
export type InvoiceRecord = Extract<LedgerRecord, { kind: "invoice" }>;
export type PaymentRecord = Extract<LedgerRecord, { kind: "payment" }>;

/** `new`: not seen, would be added; `duplicate`: exactly this record is already there. */
export type LedgerCheck = "new" | "duplicate";

export class LedgerIndex {
  readonly #records: LedgerRecord[] = [];
  readonly #byKey = new Map<string, string>();
  readonly #invoices = new Map<string, InvoiceRecord>();
  readonly #paymentByInvoice = new Map<string, PaymentRecord>();

  /** All records, in order. */
  get records(): readonly LedgerRecord[] {
    return this.#records;
  }

  /** @throws PaymentError if the record contradicts the ledger. */
  check(record: LedgerRecord): LedgerCheck {
    const key = recordKey(record);
    const existing = this.#byKey.get(key);
    if (existing !== undefined) {
      if (existing === fingerprint(record)) return "duplicate";
      throw new PaymentError(
        `ledger already holds ${recordKey(record).replace(":", " ")} with different contents`,
        {
          agreementId: record.agreementId,
        },
      );
    }
    if (record.kind === "payment") {
      const paid = this.#paymentByInvoice.get(record.invoiceId);
      if (paid) {
        throw new PaymentError(`invoice ${record.invoiceId} is already paid by payment ${paid.paymentId}`, {
          agreementId: record.agreementId,
        });
      }
      const invoice = this.#invoices.get(record.invoiceId);
      if (invoice && !parseAmount(invoice.amount).equals(parseAmount(record.amount))) {
        throw new PaymentError(
          `payment ${record.paymentId} of ${record.amount} does not match invoice ${record.invoiceId} of ${invoice.amount}`,
          { agreementId: record.agreementId },
        );
      }
    }
    return "new";
  }

  /** Add a record (a no-op for an exact duplicate). @throws PaymentError on a contradiction. */
  add(record: LedgerRecord): LedgerCheck {
    const result = this.check(record);
    if (result === "duplicate") return result;
    this.#byKey.set(recordKey(record), fingerprint(record));
    this.#records.push(record);
    if (record.kind === "invoice") this.#invoices.set(record.invoiceId, record);
    else this.#paymentByInvoice.set(record.invoiceId, record);
    return result;
  }

  invoice(invoiceId: string): InvoiceRecord | undefined {
    return this.#invoices.get(invoiceId);
  }

  paymentFor(invoiceId: string): PaymentRecord | undefined {
    return this.#paymentByInvoice.get(invoiceId);
  }

  /** Accepted invoices with no payment yet. */
  unpaidInvoices(): InvoiceRecord[] {
    return [...this.#invoices.values()].filter((i) => !this.#paymentByInvoice.has(i.invoiceId));
  }

  /** Sum of accepted invoices (optionally of one agreement). */
  invoicedTotal(agreementId?: string): Decimal {
    return total([...this.#invoices.values()], agreementId);
  }

  /** Sum of payments (optionally of one agreement). */
  paidTotal(agreementId?: string): Decimal {
    return total([...this.#paymentByInvoice.values()], agreementId);
  }
}

function total(records: readonly (InvoiceRecord | PaymentRecord)[], agreementId?: string): Decimal {
  const selected = agreementId === undefined ? records : records.filter((r) => r.agreementId === agreementId);
  return selected.length === 0 ? ZERO : sumAmounts(selected.map((r) => parseAmount(r.amount)));
}

/** Records are flat: sorting the keys makes the text independent of property order. */
function fingerprint(record: LedgerRecord): string {
  return JSON.stringify(record, Object.keys(record).sort());
}

function recordKey(record: LedgerRecord): string {
  return record.kind === "invoice" ? `invoice:${record.invoiceId}` : `payment:${record.paymentId}`;
}
